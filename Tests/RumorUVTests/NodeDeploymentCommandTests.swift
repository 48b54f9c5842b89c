import Foundation
import Glibc
import Testing
import RumorCore
import RumorUV

/// `rumor node` as an operator deploys it: the health endpoint, the signal that makes it leave, and the
/// mistakes that must stop it at once with one clear line.
@Suite("rumor node deployed", .serialized)
struct NodeDeploymentCommandTests {
    /// Starts `rumor ARGUMENTS` with its output collected, for reading once it has exited.
    func startCollecting(_ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = RumorBinary.url
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        return (process, pipe)
    }

    @Test("SIGTERM: /readyz answers 503 at once, the peer confirms by closing its side, and the node logs how many confirmed")
    func signalledLeave() async throws {
        let (listenA, adminA, listenB, healthB) = (freePort(), freePort(), freePort(), freePort())
        let first = try RumorBinary.start(["node", "--listen", "127.0.0.1:\(listenA)", "--admin", "127.0.0.1:\(adminA)", "--id", "alpha"])
        let (second, output) = try startCollecting(["node", "--listen", "127.0.0.1:\(listenB)", "--id", "beta", "--seed", "127.0.0.1:\(listenA)",
                                                    "--health", "127.0.0.1:\(healthB)", "--leave-timeout", "3s"])
        defer {
            if first.isRunning { first.terminate() }
            if second.isRunning { second.terminate() }
        }
        let health = PeerAddress(host: "127.0.0.1", port: healthB)
        #expect(await eventually(within: .seconds(10)) { (try? await AdminClient.request("GET", "/readyz", to: health).status) == 200 })
        second.terminate()
        second.waitUntilExit()
        #expect(second.terminationStatus == 0)
        let log = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("leaving") && log.contains("signal=SIGTERM"), "\(log)")
        let left = log.split(separator: "\n").first { $0.contains(" left ") || $0.hasSuffix(" left") || $0.contains("notice: left") }
        #expect(left?.contains("links=1") == true && left?.contains("confirmed=1") == true && left?.contains("cut_at_timeout=0") == true, "\(log)")
        let status = try RumorBinary.run(["status", "127.0.0.1:\(adminA)", "--json"])
        #expect(status.output.contains("\"departures\":1") && status.output.contains("\"failed_links\":0"), "\(status.output)")
    }

    @Test("mistakes an operator makes stop the node with exit status 1 and one clear line",
          arguments: [
            (["--advertise", "rumor.example:7000"], "--advertise rumor.example:7000: descriptors carry addresses, not names"),
            (["--leave-timeout", "soon"], "--leave-timeout"),
            (["--leave-timeout", "2h"], "--leave-timeout must be at most 10m"),
            (["--health", "nowhere"], "--health"),
          ])
    func operatorMistakes(arguments: [String], mentions: String) throws {
        let result = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())"] + arguments)
        #expect(result.status == 1, "exit status \(result.status): \(result.output)")
        #expect(result.output.contains(mentions), "\(result.output)")
        #expect(!result.output.contains("Fatal error"))
    }

    @Test("a health port already in use stops the node with exit status 1, naming the address and the endpoint")
    func healthPortInUse() throws {
        let taken = freePort()
        let holder = try #require(boundLoopbackSocket(port: taken))
        defer { close(holder) }
        try #require(listen(holder, 1) == 0)
        let result = try RumorBinary.run(["node", "--listen", "127.0.0.1:\(freePort())", "--health", "127.0.0.1:\(taken)"])
        #expect(result.status == 1, "exit status \(result.status)")
        let errorLines = result.output.split(separator: "\n").filter { $0.contains("127.0.0.1:\(taken)") }
        #expect(errorLines.count == 1 && errorLines[0].contains("health") && errorLines[0].contains("in use"), "\(result.output)")
    }
}
