import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

/// `count` simulated nodes with the directory on, joined through node 0 and settled.
func directoryOverlay(_ count: Int, seed: UInt64, settle: Duration = .seconds(10),
                      configure: (inout NodeConfiguration) -> Void = { _ in }) -> SimulatedNetwork {
    var network = SimulatedNetwork(seed: seed)
    network.recordsMemberEvents = true
    for index in 0..<count {
        var configuration = simulatedConfiguration(index, seeds: index == 0 ? [] : [0], directory: true)
        configure(&configuration)
        network.add(configuration, seed: seed &+ UInt64(index))
        network.run(for: .milliseconds(10))
    }
    network.run(for: settle)
    return network
}

extension SimulatedNetwork {
    /// How each live node sees `id`: its status name (`alive`, `suspect`, `failed`, `left`) or nil.
    func statuses(of id: NodeID, excluding excluded: Set<PeerAddress> = []) -> [PeerAddress: String?] {
        var result: [PeerAddress: String?] = [:]
        for address in liveAddresses where !excluded.contains(address) {
            result[address] = node(at: address).members().first { $0.entry.id == id }?.statusName
        }
        return result
    }

    /// When each node first applied a `kind` event about `id`, after `since`.
    func firstEvents(_ kind: MemberEvent.Kind, about id: NodeID, since: Timestamp) -> [Int: Timestamp] {
        var firsts: [Int: Timestamp] = [:]
        for (index, event, at) in memberEventLog where at >= since && event.kind == kind && event.entry.id == id && firsts[index] == nil {
            firsts[index] = at
        }
        return firsts
    }
}

@Suite("Directory: the member list, its merge rule, failure reports and reconciliation", .checkedSimulations)
struct DirectoryTests {
    static let a = PeerDescriptor(id: NodeID("a")!, address: PeerAddress(host: "127.0.0.1", port: 7000))

    // MARK: Wire

    @Test("an entry and a summary encode byte for byte as docs/protocol.md shows, and decode back")
    func documentedBytes() throws {
        let entry = MemberEntry(peer: Self.a, epoch: 1, version: 2, status: .alive, tags: ["role": "db"])
        let payload = DirectoryCodec.encode(.entry(entry))
        #expect(payload == [1, 1, 0x61, 9] + Array("127.0.0.1".utf8) + [0x1b, 0x58, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1,
                                                                      4] + Array("role".utf8) + [0, 2] + Array("db".utf8))
        #expect(try DirectoryCodec.decodeUpdate(payload, limits: DirectoryLimits()) == .entry(entry))
        let summary = MessageCodec.encodeFrame(.directorySummary(DirectorySummary(count: 64, rootHash: 0x0123_4567_89ab_cdef)))
        #expect(summary == [0, 0, 0, 0x0e, 6, 0x50, 0, 0, 0, 0x40, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])
    }

    @Test("an entry from the wire with too many tag keys, tags over 1 KiB, keys out of order or an unknown status is refused with the field named")
    func wireLimits() {
        let limits = DirectoryLimits()
        var many = MemberEntry(peer: Self.a, epoch: 1, version: 1, status: .alive)
        for key in 0..<65 { many.tags["k\(key)"] = "v" }
        #expect(throws: WireError.invalidValue(field: "memberEntry.tags", detail: "65 keys, more than the limit of 64")) {
            try DirectoryCodec.decodeUpdate(DirectoryCodec.encode(.entry(many)), limits: limits)
        }
        let large = MemberEntry(peer: Self.a, epoch: 1, version: 1, status: .alive, tags: ["big": String(repeating: "x", count: 1100)])
        #expect(throws: WireError.invalidValue(field: "memberEntry.tags", detail: "1107 bytes, more than the limit of 1024")) {
            try DirectoryCodec.decodeUpdate(DirectoryCodec.encode(.entry(large)), limits: limits)
        }
        var swapped = DirectoryCodec.encode(.entry(MemberEntry(peer: Self.a, epoch: 1, version: 1, status: .alive, tags: ["a": "1", "b": "2"])))
        // The two keys are one byte each at the same places: swap "a" and "b".
        let first = swapped.firstIndex(of: UInt8(ascii: "a"))!
        let last = swapped.lastIndex(of: UInt8(ascii: "b"))!
        swapped.swapAt(first, last)
        #expect(throws: WireError.invalidValue(field: "memberEntry.tagKey", detail: "key \"a\" out of order or repeated")) {
            try DirectoryCodec.decodeUpdate(swapped, limits: limits)
        }
        var badStatus = DirectoryCodec.encode(.entry(MemberEntry(peer: Self.a, epoch: 1, version: 1, status: .alive)))
        badStatus[badStatus.count - 2] = 9
        #expect(throws: WireError.invalidValue(field: "memberEntry.status", detail: "unknown status 9")) {
            try DirectoryCodec.decodeUpdate(badStatus, limits: limits)
        }
    }

    // MARK: Merge

    @Test("D1: the highest (epoch, version, status) wins: failed outranks alive of one version, a newer version outranks failed, an older epoch nothing")
    func mergeRule() {
        var directory = DirectoryState(limits: DirectoryLimits())
        let alive = MemberEntry(peer: Self.a, epoch: 5, version: 3, status: .alive)
        #expect(directory.merge(alive, at: .zero) == .added)
        var failed = alive
        failed.status = .failed
        #expect(directory.merge(failed, at: .zero) == .replaced(previous: alive))
        #expect(directory.merge(alive, at: .zero) == .stale)
        var refuted = alive
        refuted.version = 4
        #expect(directory.merge(refuted, at: .zero) == .replaced(previous: failed))
        var older = refuted
        older.epoch = 4
        older.version = 100
        #expect(directory.merge(older, at: .zero) == .stale)
        #expect(directory.recomputedBucketHashes() == directory.bucketHashes)
        #expect(directory[Self.a.id]?.entry == refuted)
    }

    @Test("D5: a reaped tombstone leaves an epoch floor: entries of that epoch are refused, a restart's newer epoch is taken")
    func epochFloor() {
        var settings = DirectoryConfiguration()
        settings.failedRetention = .seconds(10)
        var directory = DirectoryState(limits: DirectoryLimits())
        let failed = MemberEntry(peer: Self.a, epoch: 5, version: 3, status: .failed)
        _ = directory.merge(failed, at: .zero)
        #expect(directory.reap(at: Timestamp.zero + .seconds(9), configuration: settings).isEmpty)
        #expect(directory.reap(at: Timestamp.zero + .seconds(10), configuration: settings) == [failed])
        var ghost = failed
        ghost.status = .alive
        ghost.version = 9
        #expect(directory.merge(ghost, at: Timestamp.zero + .seconds(11)) == .belowEpochFloor)
        var restarted = ghost
        restarted.epoch = 6
        #expect(directory.merge(restarted, at: Timestamp.zero + .seconds(11)) == .added)
        #expect(directory.rootHash == DirectoryHash.hash(of: restarted))
    }

    @Test("a warm start publishes nothing: a node started into a filled directory that holds its own first entry finds it there; without it, the start publishes it")
    func warmStartPublishesNothing() {
        var warm = NodeHarness("me") { $0.directory.enabled = true }
        warm.preloadDirectory(["me", "a", "b"])
        warm.start()
        #expect(warm.counters.directoryEntriesPublished == 0, "the 2,500-node experiment's warm start published 2,500 entries, one to every cache")
        #expect(warm.node.ownEntry?.version == 1 && warm.node.memberCount == 3)

        var cold = NodeHarness("me") { $0.directory.enabled = true }
        cold.preloadDirectory(["a", "b"])
        cold.start()
        #expect(cold.counters.directoryEntriesPublished == 1)
        #expect(cold.node.ownEntry?.version == 1 && cold.node.memberCount == 3)
    }

    @Test("tags over a limit are refused by setTags with the reason, and the entry stays as it was")
    func setTagsLimits() throws {
        var node = Node(configuration: simulatedConfiguration(0, seeds: [], directory: true), randomSeed: 1)
        node.checksInvariants = true
        _ = node.handle(.start, at: .zero)
        _ = try node.setTags(["role": "db"], at: .zero)
        let before = node.ownEntry
        #expect(before?.version == 2)
        var many: [String: String] = [:]
        for key in 0..<65 { many["k\(key)"] = "v" }
        #expect(throws: DirectoryError.tooManyTagKeys(count: 66, limit: 64)) { try node.setTags(many, at: .zero) }
        #expect(throws: DirectoryError.tagValueTooLong(key: "big", bytes: 1100, limit: 1024)) {
            try node.setTags(["big": String(repeating: "x", count: 1100)], at: .zero)
        }
        // role=db stays: 1 count byte, then (1 + 4 + 2 + 2) for it and (1 + 1 + 2 + 600) for each of the two others.
        #expect(throws: DirectoryError.tagsTooLarge(bytes: 1 + 9 + 2 * 604, limit: 1024)) {
            try node.setTags(["a": String(repeating: "x", count: 600), "b": String(repeating: "y", count: 600)], at: .zero)
        }
        #expect(throws: DirectoryError.emptyTagKey) { try node.setTags(["": "x"], at: .zero) }
        #expect(node.ownEntry == before)
        _ = try node.setTags([:], deleting: ["role"], at: .zero)
        #expect(node.ownEntry?.tags == [:])
        #expect(node.invariantViolationsFound.isEmpty)
    }

    // MARK: Spreading

    @Test("24 nodes joining one by one: every node lists all 24 alive, and a tag change reaches all within 100 ms of 1-10 ms links")
    func joinAndTagChange() throws {
        var network = directoryOverlay(24, seed: 3)
        for address in network.liveAddresses {
            let members = network.node(at: address).members()
            #expect(members.count == 24 && members.allSatisfy { $0.statusName == "alive" }, "\(address) lists \(members.count)")
        }
        let changed = PeerAddress.local(5)
        let id = network.node(at: changed).identity.id
        let start = network.now
        try network.setTags(["zone": "b"], at: changed)
        network.run(for: .milliseconds(100))
        for address in network.liveAddresses {
            let entry = network.node(at: address).members().first { $0.entry.id == id }?.entry
            #expect(entry?.tags == ["zone": "b"], "\(address) has \(String(describing: entry?.tags))")
        }
        // Every node applied it, the changed node first.
        let applied = network.firstEvents(.updated, about: id, since: start)
        #expect(applied.count == 24)
        network.checkQuietPoint()
    }

    @Test("D4: a crashed node is failed everywhere within a second: its neighbours' links reset, and two closed reports suffice")
    func crashMarkedFailed() {
        var network = directoryOverlay(32, seed: 4)
        let victim = PeerAddress.local(9)
        let id = network.node(at: victim).identity.id
        let start = network.now
        network.crash(victim)
        network.run(for: .seconds(1))
        let statuses = network.statuses(of: id)
        #expect(statuses.values.allSatisfy { $0 == "failed" }, "\(statuses.filter { $0.value != "failed" })")
        let marked = network.firstEvents(.failed, about: id, since: start)
        #expect(marked.count == 31)
        let survivors = network.liveAddresses.filter { $0 != victim }
        for address in survivors {
            let falselyMarked = network.node(at: address).members().filter { $0.entry.status == .failed && $0.entry.id != id }
            #expect(falselyMarked.isEmpty, "\(address) marked \(falselyMarked.map(\.entry.id))")
        }
    }

    @Test("D4: a frozen node is suspect on silence, failed after the suspicion unrefuted, and alive again after its thaw without a restart")
    func frozenFailedThenBack() {
        var network = directoryOverlay(32, seed: 5)
        let frozen = PeerAddress.local(11)
        let id = network.node(at: frozen).identity.id
        network.freeze(frozen)
        network.run(for: .seconds(5))
        let statuses = network.statuses(of: id, excluding: [frozen])
        #expect(statuses.values.allSatisfy { $0 == "failed" }, "\(statuses.filter { $0.value != "failed" })")
        network.thaw(frozen)
        network.run(for: .seconds(3))
        let after = network.statuses(of: id, excluding: [frozen])
        #expect(after.values.allSatisfy { $0 == "alive" }, "\(after.filter { $0.value != "alive" })")
        #expect(network.node(at: frozen).status(at: network.now).counters.directoryRefutations >= 1)
    }

    @Test("D4: a 2 s freeze is never marked failed: the thawed node refutes within its suspicion")
    func shortFreezeNotFailed() {
        var network = directoryOverlay(32, seed: 6)
        let frozen = PeerAddress.local(13)
        let id = network.node(at: frozen).identity.id
        let start = network.now
        network.freeze(frozen)
        network.run(for: .seconds(2))
        network.thaw(frozen)
        network.run(for: .seconds(6))
        #expect(network.firstEvents(.failed, about: id, since: start).isEmpty)
        #expect(network.statuses(of: id).values.allSatisfy { $0 == "alive" })
    }

    @Test("D4: half the nodes frozen for 1.5 s (past the silence threshold, within the suspicion): once thawed, nobody is marked failed, frozen or not")
    func halfFrozenBrieflyMarksNobody() {
        var network = directoryOverlay(32, seed: 11)
        let frozen = (0..<32).filter { $0 % 2 == 1 }.map(PeerAddress.local)
        let ids = network.liveAddresses.map { network.node(at: $0).identity.id }
        let start = network.now
        for address in frozen { network.freeze(address) }
        network.run(for: .milliseconds(1500))
        for address in frozen { network.thaw(address) }
        network.run(for: .seconds(6))
        let marked = ids.filter { !network.firstEvents(.failed, about: $0, since: start).isEmpty }
        #expect(marked.isEmpty, "marked failed: \(marked)")
        for id in ids {
            #expect(network.statuses(of: id).values.allSatisfy { $0 == "alive" })
        }
    }

    @Test("a node that leaves is listed as left everywhere, never as failed")
    func gracefulLeave() {
        var network = directoryOverlay(16, seed: 7)
        let leaving = PeerAddress.local(4)
        let id = network.node(at: leaving).identity.id
        let start = network.now
        network.stopNode(leaving)
        network.run(for: .seconds(1))
        #expect(network.statuses(of: id, excluding: [leaving]).values.allSatisfy { $0 == "left" })
        #expect(network.firstEvents(.failed, about: id, since: start).isEmpty)
    }

    // MARK: Reconciliation

    @Test("with no directory broadcasts at all, directories converge by reconciliation alone within 10 anti-entropy ticks of the last change")
    func reconciliationAlone() throws {
        var network = directoryOverlay(24, seed: 8, settle: .seconds(20)) { $0.directory.broadcastsUpdates = false }
        for address in network.liveAddresses {
            #expect(network.node(at: address).memberCount == 24)
        }
        let changed = PeerAddress.local(3)
        let id = network.node(at: changed).identity.id
        try network.setTags(["zone": "c"], at: changed)
        network.run(for: BroadcastConfiguration().antiEntropyInterval * 10)
        for address in network.liveAddresses {
            #expect(network.node(at: address).members().first { $0.entry.id == id }?.entry.tags == ["zone": "c"])
        }
    }

    @Test("D5: a failed member's tombstone is reaped everywhere, and a node that held a stale copy through a partition brings nobody back")
    func noGhostsAfterPartition() {
        var network = directoryOverlay(20, seed: 9) {
            $0.directory.failedRetention = .seconds(20)
        }
        let isolated = PeerAddress.local(2)
        let victim = PeerAddress.local(15)
        let id = network.node(at: victim).identity.id
        let others = network.liveAddresses.filter { $0 != isolated }
        network.partition(into: [[isolated], others])
        network.crash(victim)
        network.run(for: .seconds(30))
        for address in others where address != victim {
            #expect(network.node(at: address).members().allSatisfy { $0.entry.id != id }, "\(address) still lists \(id)")
        }
        // The isolated node still holds the victim alive; after the heal it spreads it, and nobody takes it.
        #expect(network.node(at: isolated).members().contains { $0.entry.id == id })
        network.heal()
        network.run(for: .seconds(30))
        for address in others where address != victim {
            #expect(network.node(at: address).members().allSatisfy { $0.entry.id != id }, "\(id) came back at \(address)")
        }
    }
}
