import Foundation
import Glibc
import RumorCore
import RumorUV
import Synchronization
import Testing

/// The repository's root, found from this source file.
private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
private let labScript = repository.appendingPathComponent("scripts/netns-lab").path

/// Whether this machine can build the namespace bench (root, `ip netns`, nftables, dnsmasq), and if not why.
enum NamespaceBenchSupport {
    static let unavailableReason: String? = {
        guard getuid() == 0 else { return "the namespace bench needs root" }
        guard let (status, output) = try? RumorBinary.run([labScript, "probe"], executable: URL(fileURLWithPath: "/bin/bash")) else {
            return "cannot run scripts/netns-lab probe"
        }
        if status != 0 || !output.contains("namespaces=yes") { return "netns-lab probe: \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
        for tool in ["nft=yes", "dnsmasq=yes"] where !output.contains(tool) {
            return "netns-lab probe: \(tool.dropLast(4)) missing (scripts/setup installs it): \(output)"
        }
        return nil
    }()

    static var available: Bool { unavailableReason == nil }
    static var skipReason: Comment { Comment(rawValue: "skipped: \(unavailableReason ?? "")") }
    static var inCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Runs `scripts/netns-lab ARGUMENTS` to the end.
    @discardableResult
    static func lab(_ arguments: [String]) throws -> String {
        let (status, output) = try RumorBinary.run([labScript] + arguments, executable: URL(fileURLWithPath: "/bin/bash"))
        guard status == 0 else { throw LabFailure(description: "netns-lab \(arguments.joined(separator: " ")): \(output)") }
        return output
    }

    struct LabFailure: Error, CustomStringConvertible { var description: String }

    /// The runs netns-lab knows of now.
    static func runs() -> [String] {
        ((try? lab(["list"])) ?? "").split(separator: "\n").map(String.init)
    }
}

@Suite("the namespace bench: hosts in network namespaces, faults done by the kernel", .serialized)
struct NamespaceBenchTests {
    /// A skip must never hide a missing bench where the bench is promised: CI runs as root.
    @Test("CI can build the namespace bench", .enabled(if: NamespaceBenchSupport.inCI, "runs where CI=true"))
    func benchExistsInCI() {
        #expect(NamespaceBenchSupport.available, "\(NamespaceBenchSupport.unavailableReason ?? "")")
    }

    /// The three run at once, each on a bench of its own (its own namespaces, bridge and DNS server): they
    /// wait on their schedules far more than they compute, and one at a time they took 96 s.
    @Test("namespace topologies at 16 nodes, run at once, pass their own checks and leave nothing behind",
          .enabled(if: NamespaceBenchSupport.available, NamespaceBenchSupport.skipReason))
    func namespaceTopologiesPass() throws {
        let names = ["netns-dns-16", "netns-cuts-16", "netns-ipv6-16"]
        let before = Set(NamespaceBenchSupport.runs())
        let reports = names.map { FileManager.default.temporaryDirectory.appendingPathComponent("rumor-churn-\($0)-\(getpid())").path }
        defer { for report in reports { try? FileManager.default.removeItem(atPath: report) } }
        let results = Mutex<[String: Result<(status: Int32, output: String), any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            let file = repository.appendingPathComponent("topologies/\(names[index]).yaml").path
            let result = Result { try RumorBinary.run(["churn", file, "--report", reports[index]]) }
            results.withLock { $0[names[index]] = result }
        }
        for (name, report) in zip(names, reports) {
            let (status, output) = try #require(results.withLock { $0[name] }).get()
            #expect(status == 0, "\(name): \(output)")
            #expect(output.contains("\(name) (live mesh): PASSED"), "\(output)")
            let markdown = try String(contentsOfFile: "\(report)/report.md", encoding: .utf8)
            #expect(markdown.contains("## Network") && markdown.contains("namespaces on one bridge"), "\(name): \(markdown)")
        }
        #expect(Set(NamespaceBenchSupport.runs()).subtracting(before).isEmpty, "a run was left behind: \(NamespaceBenchSupport.runs())")
    }

    @Test("a loopback topology runs on the bench with --network namespaces, its kernel partition included",
          .enabled(if: NamespaceBenchSupport.available, NamespaceBenchSupport.skipReason))
    func loopbackFileOnTheBench() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(getpid()).yaml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try """
        name: bench-partition-8
        nodes:
          count: 8
          address: 127.0.9.{i}:7000
        seeds: random-3
        workload:
          rate: 10
          start: 2s
          stop: 14s
        schedule:
          - at: 4s
            partition: 2
          - at: 10s
            heal: true
        duration: 16s
        checks:
          - connected within 5s after heal
          - reliability >= 1.0
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try RumorBinary.run(["churn", file, "--network", "namespaces", "--report", file + ".report"])
        defer { try? FileManager.default.removeItem(atPath: file + ".report") }
        #expect(status == 0, "\(output)")
        #expect(output.contains("network namespaces (IPv4)") && output.contains("nftables DROP"), "\(output)")
    }

    @Test("where namespaces cannot be made, rumor churn says why and exits non-zero, before any node starts")
    func benchUnavailableIsAnError() throws {
        let fake = FileManager.default.temporaryDirectory.appendingPathComponent("fake-netns-lab-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: fake) }
        try "#!/bin/sh\necho 'namespaces=no nft=no dnsmasq=no tbf=no netem=no reason=unshare-refused-by-the-test'\nexit 1\n"
            .write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let (status, output) = try RumorBinary.run(["churn", repository.appendingPathComponent("topologies/netns-cuts-16.yaml").path, "--report", fake + ".report"],
                                                   environment: ProcessInfo.processInfo.environment.merging(["RUMOR_NETNS_LAB": fake]) { $1 })
        defer { try? FileManager.default.removeItem(atPath: fake + ".report") }
        #expect(status != 0)
        let expected = getuid() == 0 ? "unshare-refused-by-the-test" : "needs root"
        #expect(output.contains(expected), "\(output)")
    }
}

@Suite("the namespace bench cleans up after itself", .serialized)
struct NamespaceBenchCleanupTests {
    @Test("Ctrl-C on a namespace mesh stops every node and removes every namespace the run made",
          .enabled(if: NamespaceBenchSupport.available, NamespaceBenchSupport.skipReason))
    func interruptRemovesTheLab() async throws {
        let before = Set(NamespaceBenchSupport.runs())
        let process = Process()
        process.executableURL = RumorBinary.url
        process.arguments = ["mesh", repository.appendingPathComponent("topologies/netns-cuts-16.yaml").path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let runName = "m\(process.processIdentifier % 100_000)"
        // Up once its namespaces exist and its nodes answer for a moment.
        let up = await eventually(within: .seconds(30)) { NamespaceBenchSupport.runs().contains(runName) }
        #expect(up, "the run \(runName) never appeared")
        try await Task.sleep(for: .seconds(4))
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(Set(NamespaceBenchSupport.runs()).subtracting(before).isEmpty, "left behind: \(NamespaceBenchSupport.runs())")
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/rumor-\(runName)-hub"))
    }
}
