import Foundation
import Glibc
import Testing
import RumorCore
import RumorUV

/// Sixteen `rumor node` processes on loopback, as an operator would run them.
final class LiveOverlay: @unchecked Sendable {
    struct Member {
        var id: String
        var listen: PeerAddress
        var admin: PeerAddress
        var process: Process?
    }

    private(set) var members: [Member]
    let seedFile: URL
    let logDirectory: URL

    init(size: Int, seeds seedCount: Int) throws {
        logDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-live-\(getpid())")
        try FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        members = (0..<size).map { index in
            Member(id: "live\(index)", listen: PeerAddress(host: "127.0.0.1", port: freePort()),
                   admin: PeerAddress(host: "127.0.0.1", port: freePort()))
        }
        seedFile = logDirectory.appendingPathComponent("seeds.txt")
        let lines = members.prefix(seedCount).map { "\($0.listen)" }
        try (["# the first nodes of the live overlay"] + lines).joined(separator: "\n").write(to: seedFile, atomically: true, encoding: .utf8)
    }

    func start(_ index: Int) throws {
        let member = members[index]
        let process = Process()
        process.executableURL = RumorBinary.url
        process.arguments = ["node", "--id", member.id, "--listen", "\(member.listen)", "--admin", "\(member.admin)",
                             "--seeds", seedFile.path, "--log-level", "info"]
        let log = logDirectory.appendingPathComponent("\(member.id).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        members[index].process = process
    }

    func kill(_ index: Int) {
        guard let process = members[index].process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        members[index].process = nil
    }

    func stopAll() {
        for index in members.indices {
            if let process = members[index].process, process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            members[index].process = nil
        }
    }

    var running: [Int] { members.indices.filter { members[$0].process != nil } }

    /// The active views of the running members, by id, read from their `/status`.
    func activeViews() async -> [String: [String]]? {
        var views: [String: [String]] = [:]
        for index in running {
            guard let reply = try? await AdminClient.request("GET", "/status", to: members[index].admin, timeout: .seconds(2)),
                  reply.status == 200,
                  let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
                  let active = object["active"] as? [[String: Any]] else { return nil }
            views[members[index].id] = active.compactMap { $0["id"] as? String }
        }
        return views
    }

    /// What is wrong with the overlay of running members, or nil when it is healthy: every view non-empty,
    /// symmetric, naming only running members, and the whole graph one component.
    func problems() async -> String? {
        guard let views = await activeViews() else { return "a node did not answer /status" }
        if let lonely = views.first(where: { $0.value.isEmpty }) { return "\(lonely.key) has an empty active view" }
        for (id, view) in views {
            for peer in view {
                guard let back = views[peer] else { return "\(id) holds \(peer), which is not running" }
                if !back.contains(id) { return "\(id) holds \(peer) but not the other way round" }
            }
        }
        var seen: Set<String> = [views.keys.sorted().first!]
        var stack = Array(seen)
        while let next = stack.popLast() {
            for peer in views[next] ?? [] where seen.insert(peer).inserted { stack.append(peer) }
        }
        return seen.count == views.count ? nil : "only \(seen.count) of \(views.count) nodes are connected"
    }

    func logTail() -> String {
        running.prefix(3).map { index -> String in
            let log = (try? String(contentsOf: logDirectory.appendingPathComponent("\(members[index].id).log"), encoding: .utf8)) ?? ""
            return "\(members[index].id):\n" + log.split(separator: "\n").suffix(8).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

@Suite("A live overlay of 16 processes", .serialized)
struct LiveOverlayTests {
    @Test("16 nodes form one symmetric overlay, heal after half are killed, and take the restarted half back",
          arguments: ["a random half", "the half with both seeds"])
    func sixteenNodesUnderChurn(half: String) async throws {
        let overlay = try LiveOverlay(size: 16, seeds: 2)
        defer { overlay.stopAll() }
        let clock = ContinuousClock()
        for index in 0..<16 { try overlay.start(index) }

        var formed = await eventually(within: .seconds(5)) { await overlay.problems() == nil }
        var problem = await overlay.problems() ?? ""
        #expect(formed, "not formed within 5 s: \(problem) \(overlay.logTail())")

        var random = SeededRandom(seed: 2026)
        // With both seeds gone, the restarted seeds can only find the survivors through healing probes.
        let victims = half == "a random half" ? Array(Array(0..<16).shuffled(using: &random).prefix(8)) : Array(0..<8)
        for victim in victims { overlay.kill(victim) }
        let killedAt = clock.now
        let healed = await eventually(within: .seconds(3)) { await overlay.problems() == nil }
        problem = await overlay.problems() ?? ""
        #expect(healed, "survivors not healed within 3 s: \(problem)")
        print("live overlay: survivors healed \(clock.now - killedAt) after killing \(victims.sorted())")

        for victim in victims { try overlay.start(victim) }
        let restartedAt = clock.now
        formed = await eventually(within: .seconds(5)) {
            overlay.running.count == 16 ? await overlay.problems() == nil : false
        }
        problem = await overlay.problems() ?? ""
        #expect(formed, "restarted nodes not back within 5 s: \(problem)")
        print("live overlay: all 16 one overlay again \(clock.now - restartedAt) after the restarts")
    }
}

extension LiveOverlay {
    /// A running member's deliveries: id and wall-clock receive time of each, in order.
    func deliveries(of index: Int) async -> [(id: String, receivedNs: Int)]? {
        guard let reply = try? await AdminClient.request("GET", "/deliveries?after=0&limit=100000", to: members[index].admin),
              reply.status == 200 else { return nil }
        return reply.text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = object["id"] as? String, let received = object["received_ns"] as? Int else { return nil }
            return (id, received)
        }
    }

    func counter(_ name: String, of index: Int) async -> Int {
        guard let reply = try? await AdminClient.request("GET", "/status", to: members[index].admin),
              let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
              let counters = object["counters"] as? [String: Any] else { return 0 }
        return counters[name] as? Int ?? 0
    }
}

@Suite("Broadcast on a live overlay of 16 processes", .serialized)
struct LiveBroadcastTests {
    @Test("1,000 messages published across random nodes reach every node exactly once")
    func thousandMessages() async throws {
        let overlay = try LiveOverlay(size: 16, seeds: 2)
        defer { overlay.stopAll() }
        for index in 0..<16 { try overlay.start(index) }
        let formed = await eventually(within: .seconds(5)) { await overlay.problems() == nil }
        #expect(formed)
        var payloadsBefore = 0
        for index in 0..<16 { payloadsBefore += await overlay.counter("payloads_received", of: index) }

        var random = SeededRandom(seed: 1000)
        var published: [String: Int] = [:]
        for sequence in 0..<1000 {
            let origin = Int.random(in: 0..<16, using: &random)
            let reply = try await AdminClient.request("POST", "/publish", to: overlay.members[origin].admin, body: Array("message \(sequence)".utf8))
            let object = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
            if let id = object?["id"] as? String { published[id] = origin }
        }
        #expect(published.count == 1000)

        var byNode: [[(id: String, receivedNs: Int)]] = []
        let complete = await eventually(within: .seconds(10)) {
            byNode = []
            for index in 0..<16 { byNode.append(await overlay.deliveries(of: index) ?? []) }
            return byNode.allSatisfy { $0.count >= 1000 }
        }
        #expect(complete, "deliveries per node: \(byNode.map(\.count))")
        for (index, deliveries) in byNode.enumerated() {
            let ids = deliveries.map(\.id)
            #expect(Set(ids) == Set(published.keys), "node \(index) misses \(Set(published.keys).subtracting(ids).count)")
            #expect(ids.count == Set(ids).count, "node \(index) delivered a message twice")
        }

        // Latency: from the origin's own delivery (the moment it published) to the last node's.
        var receivedAt: [String: [Int]] = [:]
        for deliveries in byNode { for delivery in deliveries { receivedAt[delivery.id, default: []].append(delivery.receivedNs) } }
        var latencies: [Double] = []
        for (id, origin) in published {
            guard let times = receivedAt[id], let start = byNode[origin].first(where: { $0.id == id })?.receivedNs else { continue }
            latencies.append(Double(times.max()! - start) / 1e6)
        }
        latencies.sort()
        var payloadsAfter = 0
        for index in 0..<16 { payloadsAfter += await overlay.counter("payloads_received", of: index) }
        let rmr = Double(payloadsAfter - payloadsBefore) / Double(1000 * 15) - 1
        let p50 = latencies[latencies.count / 2]
        let p99 = latencies[latencies.count * 99 / 100]
        print(String(format: "live broadcast, 16 nodes, 1,000 messages: latency to the last node p50 %.2f ms, p99 %.2f ms, max %.2f ms; RMR %.3f",
                     p50, p99, latencies.last!, rmr))
    }
}
