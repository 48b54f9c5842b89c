import Foundation
import Glibc
import Synchronization
import Testing
import RumorCore

/// The `rumor` binary as a user runs it: built beside this test bundle by `swift build` / `swift test`.
enum RumorBinary {
    static var url: URL {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("rumor")
    }

    /// `rumor-node`, built beside it.
    static var nodeURL: URL { url.deletingLastPathComponent().appendingPathComponent("rumor-node") }

    /// Runs `rumor ARGUMENTS` (or another executable) to the end; returns its exit status and output.
    /// `environment`, when given, is the whole environment.
    static func run(_ arguments: [String], executable: URL = url, environment: [String: String]? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}

private let handedOutPorts = Mutex<Set<UInt16>>([])

/// A loopback port that was free a moment ago, taken below the kernel's ephemeral range so that no
/// outgoing connection can grab it before the node under test binds it.
func freePort() -> UInt16 {
    var random = SystemRandomNumberGenerator()
    for _ in 0..<1000 {
        let candidate = UInt16.random(in: 20000...32000, using: &random)
        // Never hand out a port twice in one test run: two nodes asked for ports together would collide.
        guard handedOutPorts.withLock({ $0.insert(candidate).inserted }) else { continue }
        if let descriptor = boundLoopbackSocket(port: candidate) {
            close(descriptor)
            return candidate
        }
    }
    return 0
}

/// A TCP socket bound to 127.0.0.1:`port` (not listening), or nil if the port is taken.
func boundLoopbackSocket(port: UInt16) -> Int32? {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    guard bound else {
        close(descriptor)
        return nil
    }
    return descriptor
}

@Suite("rumor on the command line", .serialized)
struct CommandLineTests {
    @Test("two `rumor node` processes link up, `rumor status --json` shows it, and SIGTERM makes each leave cleanly")
    func nodeAndStatus() async throws {
        let (listenA, adminA, listenB, adminB) = (freePort(), freePort(), freePort(), freePort())
        let seedFile = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-seeds-\(getpid()).txt")
        try "# the first node\n127.0.0.1:\(listenA)\n".write(to: seedFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: seedFile) }
        let first = try RumorBinary.start(["node", "--listen", "127.0.0.1:\(listenA)", "--admin", "127.0.0.1:\(adminA)", "--id", "alpha"])
        let second = try RumorBinary.start(["node", "--listen", "127.0.0.1:\(listenB)", "--admin", "127.0.0.1:\(adminB)",
                                            "--id", "beta", "--seeds", seedFile.path])
        defer {
            if first.isRunning { first.terminate() }
            if second.isRunning { second.terminate() }
        }
        var status: [String: Any] = [:]
        let linked = await eventually(within: .seconds(10)) {
            guard let (code, output) = try? RumorBinary.run(["status", "127.0.0.1:\(adminB)", "--json"]), code == 0,
                  let object = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else { return false }
            status = object
            return (object["active"] as? [[String: Any]])?.first?["id"] as? String == "alpha"
        }
        #expect(linked, "status: \(status)")
        #expect(status["id"] as? String == "beta")
        #expect(status["listen"] as? String == "127.0.0.1:\(listenB)")
        #expect(status["epoch"] is Int && status["uptime_s"] is Double && status["passive"] is [Any])
        #expect(status["release"] as? String == RumorRelease.version)
        #expect(status["wire_versions"] as? [Int] == RumorRelease.wireVersions.map(Int.init))

        let readable = try RumorBinary.run(["status", "127.0.0.1:\(adminA)"])
        #expect(readable.status == 0)
        #expect(readable.output.contains("node alpha at 127.0.0.1:\(listenA)") && readable.output.contains("beta"), "\(readable.output)")
        #expect(readable.output.contains("release \(RumorRelease.version), wire protocols \(WireFormat.versions.lowerBound)-\(WireFormat.versions.upperBound)"), "\(readable.output)")

        second.terminate()
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        let alone = await eventually(within: .seconds(5)) {
            let output = (try? RumorBinary.run(["status", "127.0.0.1:\(adminA)", "--json"]))?.output ?? ""
            return output.contains("\"active\":[]")
        }
        #expect(alone, "the first node should drop the peer that left")
        first.terminate()
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
    }

    @Test("`--exec` runs its command for each delivery: the payload on standard input, the message's identity in the environment")
    func deliveryHandler() async throws {
        let (listenA, adminA, listenB) = (freePort(), freePort(), freePort())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-exec-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try RumorBinary.start(["node", "--listen", "127.0.0.1:\(listenA)", "--admin", "127.0.0.1:\(adminA)", "--id", "alpha"])
        let second = try RumorBinary.start(["node", "--listen", "127.0.0.1:\(listenB)", "--id", "beta", "--seed", "127.0.0.1:\(listenA)",
                                            "--exec", "cat > '\(directory.path)/'\"$RUMOR_SEQ\"; echo \"$RUMOR_ORIGIN $RUMOR_ID\" > '\(directory.path)/'\"$RUMOR_SEQ\".env"])
        defer {
            if first.isRunning { first.terminate() }
            if second.isRunning { second.terminate() }
        }
        let linked = await eventually(within: .seconds(10)) {
            (try? RumorBinary.run(["status", "127.0.0.1:\(adminA)", "--json"]))?.output.contains("\"id\":\"beta\"") ?? false
        }
        #expect(linked)
        #expect(try RumorBinary.run(["publish", "127.0.0.1:\(adminA)", "first payload"]).status == 0)
        #expect(try RumorBinary.run(["publish", "127.0.0.1:\(adminA)", "second payload"]).status == 0)
        let handled = await eventually(within: .seconds(10)) {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent("2.env").path)
        }
        #expect(handled, "the handler should have run for both deliveries")
        let payloads = (1...2).map { (try? String(contentsOf: directory.appendingPathComponent("\($0)"), encoding: .utf8)) ?? "" }
        #expect(payloads == ["first payload", "second payload"])
        let identity = (try? String(contentsOf: directory.appendingPathComponent("1.env"), encoding: .utf8)) ?? ""
        #expect(identity.hasPrefix("alpha alpha/"), "RUMOR_ORIGIN and RUMOR_ID: \(identity)")
    }

    @Test("`--on-member 'joined,failed=CMD'` runs its command per batch of those member events: members a line on standard input, RUMOR_EVENT set; an unknown event kind is refused")
    func memberHandler() async throws {
        let (listenA, adminA, listenB) = (freePort(), freePort(), freePort())
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-on-member-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("events").path
        let first = try RumorBinary.start(["node", "--listen", "127.0.0.1:\(listenA)", "--admin", "127.0.0.1:\(adminA)", "--id", "alpha",
                                           "--on-member", "joined,failed=echo \"== $RUMOR_EVENT\" >> '\(log)'; cat >> '\(log)'"])
        let second = try RumorBinary.start(["node", "--listen", "127.0.0.1:\(listenB)", "--id", "beta", "--tag", "role=db",
                                            "--seed", "127.0.0.1:\(listenA)"])
        defer {
            if first.isRunning { first.terminate() }
            if second.isRunning { second.terminate() }
        }
        let joined = await eventually(within: .seconds(10)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("beta\t127.0.0.1:\(listenB)\talive\trole=db")
        }
        #expect(joined, "\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        kill(second.processIdentifier, SIGKILL)
        let failed = await eventually(within: .seconds(10)) {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("== failed\nbeta\t127.0.0.1:\(listenB)\tfailed\trole=db")
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(failed, "\(text)")
        #expect(!text.contains("== updated") && text.hasPrefix("== joined\nalpha"), "only the kinds asked for, the node's own entry first: \(text)")
        let unknown = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--on-member", "exploded=true"])
        #expect(unknown.status != 0 && unknown.output.contains("--on-member: unknown event 'exploded'"), "\(unknown.output)")
    }

    @Test("`rumor --version` and `rumor node --version` (rumor-node's own) name the release and the wire protocol")
    func versions() throws {
        let tool = try RumorBinary.run(["--version"])
        #expect(tool.status == 0)
        let range = WireFormat.versions
        #expect(tool.output == "rumor \(RumorRelease.version) (wire protocols \(range.lowerBound)-\(range.upperBound))\n", "\(tool.output)")
        let node = try RumorBinary.run(["node", "--version"])
        #expect(node.status == 0)
        #expect(node.output == "rumor-node \(RumorRelease.summary)\n", "\(node.output)")
    }

    @Test("`--wire-versions` outside what the build speaks, or not a version range, and a `--cluster` name too long are refused with the reason")
    func badWireVersions() throws {
        let outside = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--wire-versions", "2-4"])
        #expect(outside.status != 0)
        #expect(outside.output.contains("--wire-versions 2-4: this build speaks \(WireFormat.describe(WireFormat.versions))"), "\(outside.output)")
        let garbage = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--wire-versions", "4-3"])
        #expect(garbage.status != 0 && garbage.output.contains("wire-versions"), "\(garbage.output)")
        let unspecified = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--advertise", "0.0.0.0:7000"])
        #expect(unspecified.status == 1, "exit status \(unspecified.status)")
        #expect(unspecified.output.contains("--advertise 0.0.0.0:7000: peers cannot dial an unspecified address"), "\(unspecified.output)")
        let longName = String(repeating: "c", count: 65)
        let cluster = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--cluster", longName])
        #expect(cluster.status != 0 && cluster.output.contains("--cluster must be 1 to 64 bytes"), "\(cluster.output)")
    }

    @Test("`rumor node --help` shows the node's own options (it hands over to rumor-node)")
    func nodeHelp() throws {
        let result = try RumorBinary.run(["node", "--help"])
        #expect(result.status == 0)
        #expect(result.output.contains("--listen") && result.output.contains("--active-view-size") && result.output.contains("--exec"), "\(result.output)")
    }

    @Test("`rumor sim --threads 3` runs on two threads (a power of two), says so, and reports what one thread reports")
    func simulatorThreads() throws {
        let arguments = ["sim", "--nodes", "120", "--broadcasts", "5", "--fail", "0.4", "--seed", "4"]
        let double = try RumorBinary.run(arguments + ["--threads", "3"])
        let single = try RumorBinary.run(arguments + ["--threads", "1"])
        #expect(double.status == 0 && single.status == 0)
        #expect(double.output.contains("on 2 threads") && single.output.contains("on 1 thread"), "\(double.output)")
        // Everything but the engine's timing line is the same.
        let figures = { (output: String) in output.split(separator: "\n").filter { !$0.hasPrefix("engine:") } }
        #expect(figures(double.output) == figures(single.output))
        #expect(figures(single.output).contains { $0.hasPrefix("broadcasts:") })
        let refused = try RumorBinary.run(["sim", "--threads", "0"])
        #expect(refused.status != 0 && refused.output.contains("--threads must be 1 to 64"))
    }

    @Test("`rumor sim --experiment directory --steady-seconds N` watches N s of steady state and counts its false failures: none; the option goes with that experiment only")
    func directoryExperimentSteadySeconds() throws {
        let result = try RumorBinary.run(["sim", "--experiment", "directory", "--nodes", "32", "--steady-seconds", "5", "--seed", "2"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("false failures: 0 in 5 s of steady state and the tag changes, 0 around the one crash, 0 in the mass crash"), "\(result.output)")
        let misplaced = try RumorBinary.run(["sim", "--nodes", "32", "--steady-seconds", "5"])
        #expect(misplaced.status != 0 && misplaced.output.contains("--steady-seconds goes with --experiment directory"), "\(misplaced.output)")
        let tooLong = try RumorBinary.run(["sim", "--experiment", "directory", "--steady-seconds", "0"])
        #expect(tooLong.status != 0 && tooLong.output.contains("--steady-seconds must be 1 to 86,400"), "\(tooLong.output)")
    }

    @Test("`rumor sim --experiment directory --mass-crash 0` leaves the mass crash out and says so; a share past 0.9 or without the experiment is refused")
    func directoryExperimentWithoutMassCrash() throws {
        let result = try RumorBinary.run(["sim", "--experiment", "directory", "--nodes", "32", "--steady-seconds", "5", "--mass-crash", "0", "--seed", "2"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("mass crash: left out (--mass-crash 0)"), "\(result.output)")
        #expect(result.output.contains("one crash: marked failed by every survivor"), "\(result.output)")
        let tooMany = try RumorBinary.run(["sim", "--experiment", "directory", "--mass-crash", "0.95"])
        #expect(tooMany.status != 0 && tooMany.output.contains("--mass-crash must be 0 to 0.9"), "\(tooMany.output)")
        let misplaced = try RumorBinary.run(["sim", "--nodes", "32", "--mass-crash", "0"])
        #expect(misplaced.status != 0 && misplaced.output.contains("--mass-crash goes with --experiment directory"), "\(misplaced.output)")
    }

    @Test("a bad line in a seed file stops the node with the file, the line and the problem")
    func badSeedFile() throws {
        let seedFile = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bad-seeds-\(getpid()).txt")
        try "127.0.0.1:7000\nnot-an-address\n".write(to: seedFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: seedFile) }
        let result = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--seeds", seedFile.path])
        #expect(result.status != 0)
        #expect(result.output.contains("\(seedFile.path):2:") && result.output.contains("HOST:PORT"), "\(result.output)")
    }

    @Test("`rumor keygen -o` writes a keyring only its owner can read, never over an existing file; a bad keyring stops the node with its line")
    func keygenAndKeyringErrors() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-keys-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyring = directory.appendingPathComponent("cluster.keys").path
        #expect(try RumorBinary.run(["keygen", "-o", keyring]).status == 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: keyring)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let text = try String(contentsOfFile: keyring, encoding: .utf8)
        #expect(text.count == 65 && text.allSatisfy { $0.isHexDigit || $0 == "\n" })
        let again = try RumorBinary.run(["keygen", "-o", keyring])
        #expect(again.status != 0 && again.output.contains("exists already"), "\(again.output)")
        #expect(try String(contentsOfFile: keyring, encoding: .utf8) == text)

        let bad = directory.appendingPathComponent("bad.keys").path
        try "\(text)# rotated in next week\nnot-a-key\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--cluster-key", bad])
        #expect(refused.status != 0)
        #expect(refused.output.contains("line 3") && !refused.output.contains("Fatal error"), "\(refused.output)")
    }

    @Test("bad flags and unreachable admin addresses get a clear error, not a crash",
          arguments: [
            (["node", "--listen", "nowhere"], "--listen"),
            (["node", "--listen", "127.0.0.1:7000", "--id", String(repeating: "x", count: 65)], "--id"),
            (["node", "--listen", "127.0.0.1:7000", "--max-frame-size", "10"], "--max-frame-size"),
            (["status", "127.0.0.1:1"], "cannot reach 127.0.0.1:1"),
            (["node", "--listen", "127.0.0.1:7000", "--admin", "0.0.0.0:8000"], "--admin-any-address"),
            (["node", "--listen", "127.0.0.1:7000", "--cluster-key", "/nonexistent/cluster.keys"], "cannot read keyring file"),
            (["node", "--listen", "127.0.0.1:7000", "--max-inbound-links", "0"], "--max-inbound-links"),
            (["node", "--listen", "127.0.0.1:7000", "--data-dir", "/proc/rumor-epochs"], "cannot create data directory /proc/rumor-epochs"),
          ])
    func clearErrors(arguments: [String], mentions: String) throws {
        let result = try RumorBinary.run(arguments)
        #expect(result.status != 0)
        #expect(result.output.contains(mentions), "\(result.output)")
        #expect(!result.output.contains("Fatal error"))
    }
}
