import Foundation
import RumorTopology

/// The floor of the Serf benchmark: what plain libuv does on this machine with no protocol at all. N
/// processes in a 4-ary relay tree on loopback; the root sends small frames, every process forwards each one
/// to its children at once. The time from the root's send to the last process's receipt is the least any
/// broadcast over N processes can take here (the cost is CPU per delivery on two cores, not hops).
public struct RelayFloor: Sendable {
    public struct Options: Sendable {
        public var processes = 64
        public var fanout = 4
        public var messages = 100
        public var frameBytes = 64
        public var spacing: Duration = .milliseconds(20)
        /// Below Linux's ephemeral range (32768–60999): outgoing connections of earlier runs cannot hold these.
        public var basePort = 27_000
        public var timeout: Duration = .seconds(60)
        /// The `rumor` executable: members run as `rumor bench relay-member`.
        public var executable: String
        public var workDirectory: String

        public init(executable: String, workDirectory: String) {
            self.executable = executable
            self.workDirectory = workDirectory
        }
    }

    public struct Figures: Codable, Sendable {
        public var processes: Int
        public var messages: Int
        /// Per message, seconds from the root's send to the last member's receipt, in send order.
        public var latencies: [Double]
        public var latencyP50: Double?
        public var latencyP99: Double?
        public var latencyMaximum: Double?
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    let options: Options

    public init(options: Options) { self.options = options }

    /// The arguments of member `index`, after the executable.
    func memberArguments(_ index: Int, output: String) -> [String] {
        ["bench", "relay-member", "--index", "\(index)", "--processes", "\(options.processes)",
         "--fanout", "\(options.fanout)", "--base-port", "\(options.basePort)", "--messages", "\(options.messages)",
         "--frame-bytes", "\(options.frameBytes)", "--spacing-us", "\(options.spacing.nanosecondsRounded / 1_000)",
         "--timeout-ms", "\(options.timeout.nanosecondsRounded / 1_000_000)", "--output", output]
    }

    public func run() async throws -> Figures {
        let directory = "\(options.workDirectory)/relay-floor-\(options.processes)"
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw Failure(description: "cannot create \(directory): \(error.localizedDescription)")
        }
        var members: [NodeProcess] = []
        defer { for member in members { member.kill() } }
        // Leaves first: a parent connects to children that are already listening (it retries otherwise).
        for index in (0..<options.processes).reversed() {
            let output = "\(directory)/member-\(index).txt"
            try? FileManager.default.removeItem(atPath: output)
            members.append(try NodeProcess(executable: options.executable, arguments: memberArguments(index, output: output),
                                           logFile: "\(directory)/member-\(index).log", node: "relay-\(index)"))
        }
        let deadline = ContinuousClock.now + options.timeout + .seconds(5)
        while members.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let failed = members.filter { $0.isRunning || $0.exitStatus != 0 }
        guard failed.isEmpty else {
            let names = failed.map(\.node).prefix(5).joined(separator: ", ")
            throw Failure(description: "relay floor: \(failed.count) of \(options.processes) members failed or hung (\(names)); logs in \(directory)")
        }
        // The latest receipt of each frame over all members but the root.
        var slowest = [Double?](repeating: nil, count: options.messages)
        for index in 1..<options.processes {
            let path = "\(directory)/member-\(index).txt"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Failure(description: "relay floor: member \(index) wrote no figures (\(path))") }
            var seen = 0
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 2, let sequence = Int(fields[0]), let nanoseconds = Int64(fields[1]),
                      slowest.indices.contains(sequence) else {
                    throw Failure(description: "relay floor: \(path): cannot read '\(line)'")
                }
                slowest[sequence] = max(slowest[sequence] ?? 0, Double(nanoseconds) / 1e9)
                seen += 1
            }
            guard seen == options.messages else {
                throw Failure(description: "relay floor: member \(index) received \(seen) of \(options.messages) frames")
            }
        }
        let latencies = slowest.compactMap { $0 }
        let sorted = latencies.sorted()
        return Figures(processes: options.processes, messages: options.messages, latencies: latencies,
                       latencyP50: RunEvaluation.percentile(sorted, 0.5), latencyP99: RunEvaluation.percentile(sorted, 0.99),
                       latencyMaximum: sorted.last)
    }
}
