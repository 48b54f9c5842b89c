import ArgumentParser
import RumorCommandLine
import CRelayFloor
import Glibc

/// One process of the plain-libuv relay tree (`RelayFloor`), started by `rumor bench serf`; not for people.
struct RelayMember: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay-member",
        abstract: "One member of the plain libuv relay tree the Serf benchmark measures as its floor.",
        shouldDisplay: false
    )

    @Option var index: Int
    @Option var processes: Int
    @Option var fanout = 4
    @Option var basePort: Int
    @Option var messages: Int
    @Option var frameBytes = 64
    @Option var spacingUs: Int
    @Option var timeoutMs = 60_000
    @Option(help: "Where the member writes one line per frame: SEQUENCE LATENCY_NS.")
    var output: String

    func validate() throws {
        guard (1...10_000).contains(processes), (0..<processes).contains(index) else {
            throw ValidationError("--index must be below --processes (1 to 10,000)")
        }
        guard (1...64).contains(fanout) else { throw ValidationError("--fanout must be 1 to 64") }
        guard (1...65_535).contains(basePort), basePort + processes <= 65_536 else { throw ValidationError("--base-port + --processes must fit below 65,536") }
        guard (1...1_000_000).contains(messages) else { throw ValidationError("--messages must be 1 to 1,000,000") }
        guard (16...65_536).contains(frameBytes) else { throw ValidationError("--frame-bytes must be 16 to 65,536") }
        guard spacingUs >= 0, timeoutMs > 0 else { throw ValidationError("--spacing-us must not be negative, --timeout-ms must be positive") }
    }

    func run() throws {
        guard let file = fopen(output, "w") else {
            throw CommandFailure("relay-member \(index): cannot open \(output): \(String(cString: strerror(errno)))")
        }
        var config = relay_floor_member_config(index: Int32(index), processes: Int32(processes), fanout: Int32(fanout),
                                               base_port: Int32(basePort), messages: Int32(messages), frame_bytes: Int32(frameBytes),
                                               spacing_us: Int32(spacingUs), timeout_ms: Int32(timeoutMs))
        let result = relay_floor_run_member(&config, file)
        fclose(file)
        if result != 0 { throw ExitCode(1) }
    }
}
