import ArgumentParser
import Foundation
import Logging
import RumorCommandLine
import RumorCore
import RumorMesh
import RumorTopology

/// What `rumor mesh` and `rumor churn` share: reading the topology and running it as processes.
struct MeshLaunch {
    static func loadTopology(_ path: String?, network: NetworkChoice? = nil) throws -> Topology {
        do throws(TopologyError) {
            return try TopologyLoader.load(path ?? EmbeddedTopologies.defaultName, network: network?.network)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// The running binary, so every node runs the same build as the launcher.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func run(_ topology: Topology, workDirectory: String?, display: MeshDisplay, report: String?, command: String,
                    nodeLogLevel: String) async throws -> MeshResult {
        let directory = workDirectory ?? report ?? "\(NSTemporaryDirectory())rumor-mesh-\(topology.name)-\(getpid())"
        let runner: MeshRunner
        do {
            var options = MeshOptions(executable: executable, workDirectory: directory, display: display)
            options.nodeLogLevel = nodeLogLevel
            runner = try MeshRunner(topology: topology, options: options)
        } catch {
            throw CommandFailure("\(error)")
        }
        print("\(topology.name): \(topology.nodes.count) nodes on \(topology.network), \(DurationText.format(topology.duration)); node logs in \(directory)/logs")
        let result: MeshResult
        do {
            result = try await runner.run()
        } catch {
            throw CommandFailure("rumor \(command): \(error)")
        }
        print(RunSummary.text(result, engine: "live mesh"))
        if let report {
            let notes = try MeshReport(result: result, engine: "live mesh", command: CommandLine.arguments.joined(separator: " "), directory: report).write()
            for note in notes { print("  note: \(note)") }
            print("report: \(report)/report.md")
        }
        return result
    }

    static var terminalDisplay: MeshDisplay { isatty(1) != 0 ? .live : .lines }

    static func exit(for result: MeshResult) throws {
        if result.interrupted { throw ExitCode(130) }
        if !result.evaluation.passed { throw ExitCode(1) }
    }
}

struct MeshCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mesh",
        abstract: "Launch a mesh of nodes on loopback from a topology, run its schedule, and show it live.",
        discussion: """
        With no topology, runs the built-in local-16: 16 nodes join and broadcast, a quarter are killed at once, \
        and the rest repair. Ctrl-C stops every node. Exit status 0 when every check of the topology holds.
        """
    )

    @Argument(help: "A topology file (see docs/topologies.md); the built-in local-16 when omitted.")
    var topology: String?

    @Option(help: "Also write a report (report.json, report.md, charts) into this directory.")
    var report: String?

    @Option(help: "Where node logs go (a temporary directory by default).")
    var workDir: String?

    @Option(help: "Log level of every node: trace, debug, info, notice, warning, error or critical.")
    var nodeLogLevel: Logger.Level = .info

    @Option(help: "Where the nodes run, whatever the file says: loopback, namespaces (IPv4) or namespaces6 (IPv6 only); namespaces need root.")
    var network: NetworkChoice?

    func run() async throws {
        let topology = try MeshLaunch.loadTopology(topology, network: network)
        let result = try await MeshLaunch.run(topology, workDirectory: workDir, display: MeshLaunch.terminalDisplay, report: report, command: "mesh",
                                            nodeLogLevel: nodeLogLevel.rawValue)
        try MeshLaunch.exit(for: result)
    }
}

struct ChurnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "churn",
        abstract: "Run a topology's churn schedule as real processes and write a report.",
        discussion: """
        Writes report.json, report.md and charts (gnuplot, Graphviz) into the report directory, with node \
        logs under logs/. Exit status 0 only when every check in the topology holds; the report says which \
        failed and by how much.
        """
    )

    @Argument(help: "A topology file (see docs/topologies.md).")
    var topology: String

    @Option(help: "Directory for the report.")
    var report: String

    @Option(help: "Log level of every node: trace, debug, info, notice, warning, error or critical.")
    var nodeLogLevel: Logger.Level = .info

    @Option(help: "Where the nodes run, whatever the file says: loopback, namespaces (IPv4) or namespaces6 (IPv6 only); namespaces need root.")
    var network: NetworkChoice?

    func run() async throws {
        let topology = try MeshLaunch.loadTopology(topology, network: network)
        let result = try await MeshLaunch.run(topology, workDirectory: report, display: MeshLaunch.terminalDisplay, report: report, command: "churn",
                                            nodeLogLevel: nodeLogLevel.rawValue)
        try MeshLaunch.exit(for: result)
    }
}

/// `--network` of `rumor mesh` and `rumor churn`.
enum NetworkChoice: String, ExpressibleByArgument, CaseIterable {
    case loopback
    case namespaces
    case namespaces6

    var network: MeshNetwork {
        switch self {
        case .loopback: .loopback
        case .namespaces: .namespaces(.ipv4)
        case .namespaces6: .namespaces(.ipv6)
        }
    }
}
