import Foundation
import Glibc
import RumorCore
import RumorTopology
import RumorUV
import Testing
import Yams

private let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The rumor container's `args` in bootstrap/kubernetes/rumor.yaml, exactly as written.
private func manifestArguments() throws -> [String] {
    let text = try String(contentsOf: repository.appendingPathComponent("bootstrap/kubernetes/rumor.yaml"), encoding: .utf8)
    for document in try Yams.load_all(yaml: text) {
        guard let object = document as? [String: Any], object["kind"] as? String == "StatefulSet",
              let spec = object["spec"] as? [String: Any], let template = spec["template"] as? [String: Any],
              let podSpec = template["spec"] as? [String: Any], let containers = podSpec["containers"] as? [[String: Any]],
              let rumor = containers.first(where: { $0["name"] as? String == "rumor" }), let args = rumor["args"] as? [String] else { continue }
        return args
    }
    throw ManifestError.noArguments
}

private enum ManifestError: Error { case noArguments }

/// Three pods of the StatefulSet in namespaces of their own, each started with the manifest's arguments
/// (only `$(POD_NAME)` and `$(POD_IP)` substituted), the Service's DNS name answering with the three pod
/// addresses as a headless Service with `publishNotReadyAddresses` does. The pod's view of the file system
/// is what the manifest mounts: the keyring Secret at /etc/rumor/keys, an emptyDir at /var/lib/rumor (an
/// overlay on /etc and a tmpfs on /var/lib, inside the mount namespace `ip netns exec` gives each pod).
@Suite("three pods from the Kubernetes manifest on the namespace bench", .serialized)
struct PodManifestTests {
    static let service = "rumor.rumor.svc.cluster.local"

    @Test("all three become ready through the DNS name; health is reachable from another namespace, publish is not; SIGTERM turns /readyz to 503",
          .enabled(if: NamespaceBenchSupport.available, NamespaceBenchSupport.skipReason))
    func threePodsBecomeReady() async throws {
        let arguments = try manifestArguments()
        #expect(arguments.contains("$(POD_IP):7000") && arguments.contains("$(POD_NAME)"), "\(arguments)")
        let run = "pods\(getpid() % 100_000)"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-\(run)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        var pods: [Process] = []
        defer {
            for pod in pods where pod.isRunning { kill(pod.processIdentifier, SIGKILL) }
            for pod in pods { pod.waitUntilExit() }
            _ = try? NamespaceBenchSupport.lab(["destroy", run])
            try? FileManager.default.removeItem(at: work)
        }
        try NamespaceBenchSupport.lab(["create", run, "3"])
        let keyring = work.appendingPathComponent("keyring").path
        #expect(try RumorBinary.run(["keygen", "-o", keyring]).status == 0)
        let addresses = (1...3).map { LabAddressing.host(slot: $0, family: .ipv4) }
        try NamespaceBenchSupport.lab(["dns", run, Self.service] + addresses)

        for slot in 1...3 {
            let name = "rumor-\(slot - 1)"
            let podArguments = arguments.map { $0.replacingOccurrences(of: "$(POD_NAME)", with: name).replacingOccurrences(of: "$(POD_IP)", with: addresses[slot - 1]) }
            pods.append(try startPod(run: run, slot: slot, arguments: podArguments, keyring: keyring, work: work))
        }

        // The harness's sockets in the hub namespace: another host on the pods' network.
        let eventLoop = try EventLoop()
        eventLoop.start()
        defer { eventLoop.shutdown() }
        try await eventLoop.enterNetworkNamespace(atPath: "/run/netns/rumor-\(run)-hub")
        let health = addresses.map { PeerAddress(host: $0, port: 7080) }
        func status(_ method: String, _ path: String, _ address: PeerAddress) async -> Int? {
            (try? await AdminClient.request(method, path, to: address, timeout: .seconds(1), using: eventLoop))?.status
        }

        for (slot, address) in health.enumerated() {
            let ready = await eventually(within: .seconds(20)) { await status("GET", "/readyz", address) == 200 }
            #expect(ready, "pod \(slot) never ready; log: \(podLog(work, slot + 1))")
            #expect(await status("GET", "/healthz", address) == 200)
        }
        // The health endpoint serves nothing that changes the node, and no admin endpoint listens off the pod.
        #expect(await status("POST", "/publish", health[0]) == 405)
        #expect(await status("POST", "/links", health[0]) == 405)
        #expect(await status("GET", "/status", health[0]) == 404)
        let listening = listeningPorts(pid: pods[0].processIdentifier)
        #expect(listening == [7000, 7080], "ports listening off loopback in the pod: \(listening.sorted())")

        // Pod 3's peers no longer hear it, so its leave waits out the leave timeout: /readyz must say 503 meanwhile.
        try NamespaceBenchSupport.lab(["cut", run, "--from", "3", "--to", "1,2"])
        kill(pods[2].processIdentifier, SIGTERM)
        let notReady = await eventually(within: .seconds(2)) { await status("GET", "/readyz", health[2]) == 503 }
        #expect(notReady, "pod 3 did not answer 503 while leaving; log: \(podLog(work, 3))")
        let exited = await eventually(within: .seconds(5)) { !pods[2].isRunning }
        #expect(exited, "pod 3 did not exit within its leave timeout")
    }

    /// `ip netns exec` gives the pod its own mount namespace; inside it an overlay puts the keyring where
    /// the Secret would be, and a tmpfs stands for the emptyDir. The host's /etc and /var/lib are untouched.
    private func startPod(run: String, slot: Int, arguments: [String], keyring: String, work: URL) throws -> Process {
        let pod = work.appendingPathComponent("pod-\(slot)").path
        let script = """
        set -e
        mkdir -p "$POD/upper/rumor/keys" "$POD/work"
        cp /etc/resolv.conf /etc/hosts /etc/nsswitch.conf "$POD/upper/"
        cp "$KEYRING" "$POD/upper/rumor/keys/keyring"
        mount -t overlay overlay -o "lowerdir=/etc,upperdir=$POD/upper,workdir=$POD/work" /etc
        mount -t tmpfs -o size=1m tmpfs /var/lib
        mkdir /var/lib/rumor
        exec "$0" "$@"
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", "rumor-\(run)-\(slot)", "/bin/sh", "-c", script, RumorBinary.nodeURL.path] + arguments
        process.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "POD": pod, "KEYRING": keyring]
        try FileManager.default.createDirectory(atPath: pod, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: pod + ".log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: pod + ".log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    private func podLog(_ work: URL, _ slot: Int) -> String {
        let text = (try? String(contentsOf: work.appendingPathComponent("pod-\(slot).log"), encoding: .utf8)) ?? "(no log)"
        return String(text.suffix(2000))
    }

    /// TCP ports in LISTEN in the pod's namespace on an address other than loopback (/proc/PID/net/tcp{,6}).
    private func listeningPorts(pid: Int32) -> Set<Int> {
        var ports: Set<Int> = []
        for table in ["tcp", "tcp6"] {
            let text = (try? String(contentsOfFile: "/proc/\(pid)/net/\(table)", encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[3] == "0A" else { continue }  // 0A: LISTEN
                let local = fields[1].split(separator: ":")
                guard local.count == 2, let port = Int(local[1], radix: 16) else { continue }
                // Loopback: 0100007F in /proc's byte order, or ::1.
                let host = String(local[0])
                if host == "0100007F" || host == "00000000000000000000000001000000" { continue }
                ports.insert(port)
            }
        }
        return ports
    }
}
