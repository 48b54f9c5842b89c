import Foundation
import Glibc
import RumorUV

/// HashiCorp Serf agents on loopback, driven through Serf's own command line, for `rumor bench serf`:
/// a user-event handler records when each event reaches each agent, `serf members` tells who sees whom.
final class SerfCluster: @unchecked Sendable {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "serf is not installed: run `apt-get install -y serf` (Debian ships 0.9.4) and try again"
        }
    }

    let count: Int
    let directory: String
    let serf: String
    private(set) var agents: [Agent] = []
    let startedAt = ContinuousClock.now

    struct Agent {
        var name: String
        var bind: String
        var rpc: String
        var process: NodeProcess?
        var arrivals: String
    }

    /// Agents `serf-1` … bound to 127.0.12.i:7946 with RPC on :7373.
    init(count: Int, directory: String) throws {
        guard let serf = ExternalTool.find("serf") else { throw Missing() }
        self.serf = serf
        self.count = count
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/logs", withIntermediateDirectories: true)
        agents = (1...count).map { index in
            Agent(name: "serf-\(index)", bind: "127.0.12.\(index):7946", rpc: "127.0.12.\(index):7373", process: nil,
                  arrivals: "\(directory)/arrivals-\(index)")
        }
        let handler = """
            #!/bin/sh
            # Records when a user event reached this agent (wall-clock nanoseconds and the event's name), and
            # each member of a member event (nanoseconds, the event, the member's name).
            if [ "$SERF_EVENT" = "user" ]; then
                echo "$(date +%s%N) $SERF_USER_EVENT" >> "$RUMOR_ARRIVALS"
            else
                now=$(date +%s%N)
                while read -r name rest; do echo "$now $SERF_EVENT $name" >> "$RUMOR_ARRIVALS.members"; done
            fi
            exit 0

            """
        try handler.write(toFile: directory + "/handler.sh", atomically: true, encoding: .utf8)
        chmod(directory + "/handler.sh", 0o755)
        for agent in agents {
            try? FileManager.default.removeItem(atPath: agent.arrivals)
            try? FileManager.default.removeItem(atPath: agent.arrivals + ".members")
        }
    }

    /// Starts every agent (LAN profile); all join the first.
    func start() throws {
        for index in agents.indices {
            var arguments = ["agent", "-node=\(agents[index].name)", "-bind=\(agents[index].bind)", "-rpc-addr=\(agents[index].rpc)",
                             "-profile=lan", "-event-handler=\(directory)/handler.sh", "-log-level=warn"]
            if index > 0 { arguments += ["-retry-join=\(agents[0].bind)", "-retry-interval=1s"] }
            setenv("RUMOR_ARRIVALS", agents[index].arrivals, 1)
            agents[index].process = try NodeProcess(executable: serf, arguments: arguments,
                                                    logFile: "\(directory)/logs/\(agents[index].name).log", node: agents[index].name)
        }
        unsetenv("RUMOR_ARRIVALS")
    }

    /// Agents hung with SIGSTOP: running, but answering nothing until thawed.
    private(set) var frozen: Set<Int> = []

    /// Agents running and not frozen.
    var live: [Int] { agents.indices.filter { agents[$0].process?.isRunning == true && !frozen.contains($0) } }

    /// Runs `serf ARGUMENTS` and returns its standard output, or nil when it failed.
    private func command(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: serf)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }

    /// Names an agent lists with the given status (alive, failed, left).
    func members(seenBy index: Int, status: String) -> Set<String>? {
        command(["members", "-rpc-addr=\(agents[index].rpc)", "-status=\(status)"]).map { text in
            Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        }
    }

    /// Polls until `condition` holds for every live agent; returns when, or nil at the deadline.
    func waitUntilEveryAgent(timeout: Duration, _ condition: (Int) -> Bool) async -> Duration? {
        let deadline = ContinuousClock.now + timeout
        let began = ContinuousClock.now
        while ContinuousClock.now < deadline {
            if live.allSatisfy(condition) { return ContinuousClock.now - began }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Publishes user event `name` from agent `index`; returns the wall-clock nanoseconds just before.
    func publish(_ name: String, from index: Int) -> Int64? {
        let before = Self.wallNanoseconds()
        return command(["event", "-rpc-addr=\(agents[index].rpc)", "-coalesce=false", name, "x"]) == nil ? nil : before
    }

    /// For each event name, when each agent got it.
    func arrivals() -> [String: [String: Int64]] {
        var result: [String: [String: Int64]] = [:]
        for agent in agents {
            guard let text = try? String(contentsOfFile: agent.arrivals, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let at = Int64(parts[0]) else { continue }
                result[String(parts[1]), default: [:]][agent.name] = min(result[String(parts[1])]?[agent.name] ?? .max, at)
            }
        }
        return result
    }

    /// Sets one tag of agent `index` (`serf tags -set`); false when the command failed.
    func setTag(_ index: Int, key: String, value: String) -> Bool {
        command(["tags", "-rpc-addr=\(agents[index].rpc)", "-set", "\(key)=\(value)"]) != nil
    }

    /// The member-event lines agent `index`'s handler wrote from byte `offset` on, and the offset after them.
    func memberEventLines(of index: Int, from offset: Int) -> ([Substring], Int) {
        guard let data = FileManager.default.contents(atPath: agents[index].arrivals + ".members"), data.count > offset else { return ([], offset) }
        let text = String(decoding: data[offset...], as: UTF8.self)
        // Only whole lines: the handler may be writing the next one.
        guard let lastNewline = text.lastIndex(of: "\n") else { return ([], offset) }
        let complete = text[...lastNewline]
        return (complete.split(separator: "\n"), offset + complete.utf8.count)
    }

    /// Lets one frozen agent go on.
    func thaw(_ index: Int) {
        guard frozen.remove(index) != nil else { return }
        agents[index].process?.resume()
    }

    func kill(_ indices: [Int]) {
        for index in indices { agents[index].process?.kill() }
    }

    /// Hangs the agents (SIGSTOP), as a host that stops answering does: their sockets stay open.
    func freeze(_ indices: [Int]) {
        for index in indices {
            agents[index].process?.pause()
            frozen.insert(index)
        }
    }

    /// Lets every frozen agent go on (SIGCONT).
    func thawAll() {
        for index in frozen { agents[index].process?.resume() }
        frozen.removeAll()
    }

    func stats() -> [ProcessStats] {
        live.compactMap { agents[$0].process.flatMap { ProcessStats.read(pid: $0.pid) } }
    }

    func stop() async {
        thawAll()
        for agent in agents { agent.process?.terminate() }
        for agent in agents { await agent.process?.waitOrKill(timeout: .seconds(3)) }
    }

    static func wallNanoseconds() -> Int64 { Int64(WallClock.nanoseconds()) }
}
