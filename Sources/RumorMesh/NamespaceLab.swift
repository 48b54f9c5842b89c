import Foundation
import RumorCore
import RumorTopology
import RumorUV

/// One run of `scripts/netns-lab`: a hub namespace with a bridge and a DNS server, and a namespace per
/// node slot, where faults are done by the kernel (nftables, tbf). Every call goes through the script, which
/// names everything after the run so that `destroy` removes exactly what this run made.
final class NamespaceLab: Sendable {
    let script: String
    let run: String
    let family: LabFamily

    struct LabError: Error, CustomStringConvertible {
        var description: String
    }

    /// What the kernel here can do, from `netns-lab probe`.
    struct Probe: Sendable {
        var namespaces: Bool
        var netem: Bool
        var tbf: Bool
        /// Why namespaces cannot be made, when they cannot.
        var reason: String?
    }

    init(script: String, run: String, family: LabFamily) {
        self.script = script
        self.run = run
        self.family = family
    }

    /// `scripts/netns-lab` beside the build: `$RUMOR_NETNS_LAB`, or the nearest `scripts/netns-lab` above the
    /// directory of `executable` (a build lives in `.build/CONFIGURATION/` of the checkout).
    static func locateScript(beside executable: String) throws(LabError) -> String {
        if let chosen = ProcessInfo.processInfo.environment["RUMOR_NETNS_LAB"], !chosen.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: chosen) else {
                throw LabError(description: "RUMOR_NETNS_LAB=\(chosen) is not an executable file")
            }
            return chosen
        }
        var directory = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = directory.appendingPathComponent("scripts/netns-lab").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw LabError(description: "scripts/netns-lab not found above \(executable); set RUMOR_NETNS_LAB to its path")
    }

    /// Whether this machine can build the bench, and which kernel features it has.
    static func probe(script: String) async -> Probe {
        let (status, output) = await runScript(script, ["probe"])
        let values = keyValues(output)
        let namespaces = status == 0 && values["namespaces"] == "yes"
        return Probe(namespaces: namespaces, netem: values["netem"] == "yes", tbf: values["tbf"] == "yes",
                     reason: namespaces ? nil : (values["reason"] ?? output.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// The namespace a node slot runs in, for `ip netns exec`.
    func namespace(slot: Int) -> String { "rumor-\(run)-\(slot)" }
    var hubNamespacePath: String { "/run/netns/rumor-\(run)-hub" }

    func create(slots: Int) async throws(LabError) {
        try await call(["create", run, "\(slots)", "--family", family.rawValue])
    }

    func destroy() async {
        _ = await Self.runScript(script, ["destroy", run])
    }

    /// NAME resolves to exactly these hosts (none: NXDOMAIN).
    func setRecords(name: String, hosts: [String]) async throws(LabError) {
        try await call(["dns", run, name] + hosts)
    }

    func partition(_ first: [Int], _ second: [Int]) async throws(LabError) {
        try await call(["partition", run, "--between", Self.list(first), "--and", Self.list(second)])
    }

    func cut(from: [Int], to: [Int]) async throws(LabError) {
        try await call(["cut", run, "--from", Self.list(from), "--to", Self.list(to)])
    }

    func loss(_ slots: [Int], share: Double) async throws(LabError) {
        try await call(["loss", run, "--nodes", Self.list(slots), "--share", String(format: "%.6f", share)])
    }

    func rate(_ slots: [Int], limit: String) async throws(LabError) {
        try await call(["rate", run, "--nodes", Self.list(slots), "--rate", limit])
    }

    /// Lifts every partition, cut, loss and rate of every slot.
    func healAll() async throws(LabError) {
        try await call(["heal", run])
    }

    private func call(_ arguments: [String]) async throws(LabError) {
        let (status, output) = await Self.runScript(script, arguments)
        guard status == 0 else {
            let message = output.split(separator: "\n").last(where: { $0.hasPrefix("netns-lab:") }).map(String.init) ?? output
            throw LabError(description: "netns-lab \(arguments.prefix(2).joined(separator: " ")): \(message.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    private static func list(_ slots: [Int]) -> String { slots.sorted().map(String.init).joined(separator: ",") }

    private static func keyValues(_ output: String) -> [String: String] {
        var values: [String: String] = [:]
        for word in output.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// Runs the script off the cooperative pool (which has two threads here), standard output and error
    /// together into a file rather than a pipe, so a long answer cannot fill a pipe nobody reads yet.
    /// Spawned with an empty signal mask: the harness blocks SIGINT, SIGTERM and SIGHUP to watch them,
    /// and the lab's dnsmasq, started by the script, must still hear the SIGHUP that makes it re-read.
    private static func runScript(_ script: String, _ arguments: [String]) async -> (Int32, String) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let outputPath = NSTemporaryDirectory() + "rumor-netns-lab-\(UUID().uuidString)"
                defer { try? FileManager.default.removeItem(atPath: outputPath) }
                let pid: pid_t
                do {
                    pid = try ChildProcess.spawn("/bin/bash", arguments: [script] + arguments, standardOutput: .appendToFile(outputPath))
                } catch {
                    continuation.resume(returning: (127, "cannot run \(script): \(error)"))
                    return
                }
                let status = ChildProcess.waitForExit(pid)
                let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
                continuation.resume(returning: (status == 0 ? 0 : max(1, (status >> 8) & 0xFF), text))
            }
        }
    }
}
