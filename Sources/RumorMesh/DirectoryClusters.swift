import Foundation
import Glibc
import RumorCore
import RumorSecurity
import RumorUV

/// One member event as a directory benchmark reads it back: who saw what about whom, and when (the observer's
/// own wall-clock record).
struct SeenMemberEvent {
    var observer: Int
    /// Rumor's kinds: joined, updated, alive, failed, left (Serf's member-join, -update, -failed, -leave).
    var event: String
    var member: String
    /// The entry's version (Rumor); 0 where the system has none to give (Serf).
    var version: UInt64
    var appliedNanoseconds: Int64
}

/// What the directory benchmark does to a cluster, whichever system runs it.
protocol DirectoryCluster: AnyObject {
    var size: Int { get }
    var system: String { get }
    /// How long after a state shows in the member list its events may still be on their way to the record:
    /// Serf's handler runs after its coalescing period.
    var eventSettle: Duration { get }
    func memberID(_ index: Int) -> String
    /// Starts every member at once; the wall-clock time of the last start.
    func start() async throws -> Int64
    /// Sets tag `bench` on member `index`; the entry's new version where the system tells it.
    func setTag(_ index: Int, value: String) async -> (done: Bool, version: UInt64?)
    func kill(_ indices: [Int])
    func pause(_ index: Int)
    func resume(_ index: Int)
    /// Member events recorded by these members since the last read.
    func newEvents(from indices: [Int]) async -> [SeenMemberEvent]
    /// How many (observer, member) pairs list a member of `ids` with `status`.
    func pairs(listing ids: Set<String>, as status: String, seenBy indices: [Int]) async -> Int
    /// Bytes these members have sent so far: the directory's own frames and all frames; nil where the system
    /// does not count its traffic by channel (Serf).
    func bytesSent(by indices: [Int]) async -> (directory: Int, all: Int)?
    func stop() async
}

/// The sum over one metric's series in Prometheus text, where each series' labels contain `labels`.
func metricTotal(_ name: String, labels: String = "", in text: String) -> Int {
    var total = 0
    for line in text.split(separator: "\n") where line.hasPrefix(name) {
        let rest = line.dropFirst(name.count)
        guard rest.first == " " || rest.first == "{", labels.isEmpty || rest.contains(labels),
              let value = rest.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
        total += Int(value)
    }
    return total
}

/// `rumor-node` processes on 127.0.14.0/24, asked through their admin endpoints.
final class RumorDirectoryCluster: DirectoryCluster {
    let size: Int
    let system = "rumor"
    let eventSettle: Duration = .milliseconds(200)
    private let nodeExecutable: String
    private let workDirectory: String
    private var processes: [NodeProcess?]
    private var cursors: [UInt64]
    private var random: SeededRandom
    /// Every member proves this cluster key on every link, as a deployment would: sealing adds its bytes to
    /// each frame, and the traffic figures include them.
    private let keyFile: String?

    init(size: Int, executable: String, workDirectory: String, keyed: Bool = true) throws {
        self.size = size
        nodeExecutable = try NodeExecutable.locate(beside: executable)
        self.workDirectory = workDirectory
        processes = Array(repeating: nil, count: size)
        cursors = Array(repeating: 0, count: size)
        random = SeededRandom(seed: UInt64(size))
        try FileManager.default.createDirectory(atPath: workDirectory + "/logs", withIntermediateDirectories: true)
        guard keyed else {
            keyFile = nil
            return
        }
        let keyFile = workDirectory + "/cluster.keys"
        guard FileManager.default.createFile(atPath: keyFile, contents: Data(Keyring(ClusterKey.generate()).text.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw MeshLaunchError(description: "cannot write \(keyFile)")
        }
        self.keyFile = keyFile
    }

    func memberID(_ index: Int) -> String { "node-\(index + 1)" }
    private func admin(_ index: Int) -> PeerAddress { PeerAddress(host: "127.0.14.\(index + 1)", port: 8000) }

    func start() async throws -> Int64 {
        var lastStart: Int64 = 0
        for index in 0..<size {
            let peers = (0..<size).filter { $0 != index }.shuffled(using: &random).prefix(3)
            var arguments = ["--listen", "127.0.14.\(index + 1):7000", "--admin", admin(index).description, "--id", memberID(index),
                             "--log-level", "warning", "--exit-with-parent"]
            if let keyFile { arguments += ["--cluster-key", keyFile] }
            for peer in peers { arguments += ["--seed", "127.0.14.\(peer + 1):7000"] }
            processes[index] = try NodeProcess(executable: nodeExecutable, arguments: arguments,
                                               logFile: "\(workDirectory)/logs/\(memberID(index)).log", node: memberID(index))
            lastStart = Int64(WallClock.nanoseconds())
        }
        return lastStart
    }

    func setTag(_ index: Int, value: String) async -> (done: Bool, version: UInt64?) {
        let body = Array("{\"set\": {\"bench\": \"\(value)\"}}".utf8)
        guard let reply = try? await AdminClient.request("POST", "/tags", to: admin(index), body: body), reply.status == 200,
              let range = reply.text.range(of: "\"version\":") else { return (false, nil) }
        return (true, UInt64(reply.text[range.upperBound...].prefix { $0.isNumber }))
    }

    func kill(_ indices: [Int]) { for index in indices { processes[index]?.kill() } }
    func pause(_ index: Int) { processes[index]?.pause() }
    func resume(_ index: Int) { processes[index]?.resume() }

    func newEvents(from indices: [Int]) async -> [SeenMemberEvent] {
        var seen: [SeenMemberEvent] = []
        for index in indices {
            guard let reply = try? await AdminClient.request("GET", "/member-events?after=\(cursors[index])", to: admin(index)) else { continue }
            for line in reply.text.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let sequence = object["seq"] as? Int, let event = object["event"] as? String, let id = object["id"] as? String,
                      let version = object["version"] as? Int, let applied = object["applied_ns"] as? Int else { continue }
                cursors[index] = max(cursors[index], UInt64(sequence))
                seen.append(SeenMemberEvent(observer: index, event: event, member: id, version: UInt64(version), appliedNanoseconds: Int64(applied)))
            }
        }
        return seen
    }

    func pairs(listing ids: Set<String>, as status: String, seenBy indices: [Int]) async -> Int {
        var count = 0
        for index in indices {
            guard let reply = try? await AdminClient.request("GET", "/members?status=\(status)", to: admin(index)),
                  let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any] else { continue }
            count += (object["members"] as? [[String: Any]] ?? []).filter { ids.contains($0["id"] as? String ?? "") }.count
        }
        return count
    }

    func bytesSent(by indices: [Int]) async -> (directory: Int, all: Int)? {
        var directory = 0
        var all = 0
        for index in indices {
            guard let reply = try? await AdminClient.request("GET", "/metrics", to: admin(index)) else { return nil }
            directory += metricTotal("rumor_channel_bytes_out_total", labels: "channel=\"directory\"", in: reply.text)
            all += metricTotal("rumor_channel_bytes_out_total", in: reply.text)
        }
        return (directory, all)
    }

    func stop() async { for process in processes { process?.kill() } }
}

/// Serf agents (LAN profile) through Serf's own command line; member events recorded by the agents' handler.
final class SerfDirectoryCluster: DirectoryCluster {
    let size: Int
    let system = "serf"
    let eventSettle: Duration = .seconds(5)
    private let cluster: SerfCluster
    private var readOffsets: [Int]

    init(size: Int, workDirectory: String) throws {
        self.size = size
        cluster = try SerfCluster(count: size, directory: workDirectory)
        readOffsets = Array(repeating: 0, count: size)
    }

    func memberID(_ index: Int) -> String { cluster.agents[index].name }

    func start() async throws -> Int64 {
        try cluster.start()
        return Int64(WallClock.nanoseconds())
    }

    func setTag(_ index: Int, value: String) async -> (done: Bool, version: UInt64?) {
        (cluster.setTag(index, key: "bench", value: value), nil)
    }

    func kill(_ indices: [Int]) { cluster.kill(indices) }
    func pause(_ index: Int) { cluster.freeze([index]) }
    func resume(_ index: Int) { cluster.thaw(index) }

    func newEvents(from indices: [Int]) async -> [SeenMemberEvent] {
        var seen: [SeenMemberEvent] = []
        for index in indices {
            let (lines, offset) = cluster.memberEventLines(of: index, from: readOffsets[index])
            readOffsets[index] = offset
            for line in lines {
                let parts = line.split(separator: " ")
                guard parts.count == 3, let at = Int64(parts[0]) else { continue }
                let kind: String
                switch parts[1] {
                case "member-join": kind = "joined"
                case "member-update": kind = "updated"
                case "member-failed": kind = "failed"
                case "member-leave": kind = "left"
                default: continue
                }
                seen.append(SeenMemberEvent(observer: index, event: kind, member: String(parts[2]), version: 0, appliedNanoseconds: at))
            }
        }
        return seen
    }

    func pairs(listing ids: Set<String>, as status: String, seenBy indices: [Int]) async -> Int {
        indices.reduce(0) { $0 + (cluster.members(seenBy: $1, status: status) ?? []).intersection(ids).count }
    }

    func bytesSent(by indices: [Int]) async -> (directory: Int, all: Int)? { nil }

    func stop() async { await cluster.stop() }
}
