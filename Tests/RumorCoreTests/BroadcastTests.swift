import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

/// Relative message redundancy over a set of messages: payload frames received / (deliveries − 1) − 1.
func relativeRedundancy(payloads: Int, messages: Int, nodes: Int) -> Double {
    Double(payloads) / Double(messages * (nodes - 1)) - 1
}

@Suite("Broadcast: Plumtree with anti-entropy", .checkedSimulations)
struct BroadcastTests {
    let payload = [UInt8](repeating: 7, count: 64)

    @Test("1,000 broadcasts from random origins reach every one of 1,000 nodes exactly once")
    func everyNodeExactlyOnce() throws {
        var network = joinedOverlay(1000, seed: 101)
        var random = SeededRandom(seed: 5)
        var ids: [MessageID] = []
        let payloadsBefore = network.payloadsReceived
        for _ in 0..<1000 {
            ids.append(try network.publish(payload, from: network.liveAddresses.randomElement(using: &random)!))
            network.run(for: .milliseconds(5))
        }
        network.run(for: .seconds(3))
        let missing = ids.map { network.nodesMissing($0).count }.reduce(0, +)
        #expect(missing == 0)
        #expect(network.duplicateDeliveries == 0)
        let rmr = relativeRedundancy(payloads: network.payloadsReceived - payloadsBefore, messages: ids.count, nodes: 1000)
        print("1,000 nodes, 1,000 messages from random origins: RMR \(rmr)")
        #expect(rmr < 0.5)
    }

    @Test("once the tree has formed a single sender's messages travel with almost no redundancy (RMR < 0.05)")
    func singleSenderTree() throws {
        var network = joinedOverlay(1000, seed: 111)
        let sender = PeerAddress.local(17)
        for _ in 0..<30 {
            try network.publish(payload, from: sender)
            network.run(for: .milliseconds(50))
        }
        network.run(for: .seconds(2))
        let before = network.payloadsReceived
        var ids: [MessageID] = []
        for _ in 0..<100 {
            ids.append(try network.publish(payload, from: sender))
            network.run(for: .milliseconds(50))
        }
        network.run(for: .seconds(2))
        #expect(ids.allSatisfy { network.nodesMissing($0).isEmpty })
        let rmr = relativeRedundancy(payloads: network.payloadsReceived - before, messages: ids.count, nodes: 1000)
        print("1,000 nodes, one sender after warm-up: RMR \(rmr)")
        #expect(rmr < 0.05)
    }

    @Test("with 1% of frames lost on every link, every message still reaches every live node")
    func lossyLinks() throws {
        var network = joinedOverlay(1000, seed: 121)
        network.lossRate = 0.01
        var random = SeededRandom(seed: 6)
        var ids: [MessageID] = []
        for _ in 0..<200 {
            ids.append(try network.publish(payload, from: network.liveAddresses.randomElement(using: &random)!))
            network.run(for: .milliseconds(20))
        }
        network.run(for: BroadcastConfiguration().antiEntropyInterval * 10)
        let missing = ids.map { network.nodesMissing($0).count }.reduce(0, +)
        #expect(missing == 0, "deliveries missing: \(missing)")
        #expect(network.duplicateDeliveries == 0)
    }

    @Test("killing 30% of nodes mid-stream loses no message published after the kill, and at most 0.1% of those in flight")
    func killDuringStream() throws {
        var network = joinedOverlay(1000, seed: 131)
        var random = SeededRandom(seed: 7)
        var before: [MessageID] = []
        for _ in 0..<100 {
            before.append(try network.publish(payload, from: network.liveAddresses.randomElement(using: &random)!))
            network.run(for: .milliseconds(2))
        }
        for address in network.addresses.shuffled(using: &random).prefix(300) { network.crash(address) }
        var after: [MessageID] = []
        for _ in 0..<100 {
            after.append(try network.publish(payload, from: network.liveAddresses.randomElement(using: &random)!))
            network.run(for: .milliseconds(2))
        }
        network.run(for: .seconds(20))
        let lostAfter = after.map { network.nodesMissing($0).count }.reduce(0, +)
        let lostBefore = before.map { network.nodesMissing($0).count }.reduce(0, +)
        #expect(lostAfter == 0)
        #expect(Double(lostBefore) <= 0.001 * Double(before.count * network.liveAddresses.count), "lost \(lostBefore)")
        #expect(network.duplicateDeliveries == 0)
    }

    @Test("a node cut off for 100 broadcasts receives them all within 5 anti-entropy periods of its return")
    func antiEntropyCatchesUp() throws {
        var network = joinedOverlay(1000, seed: 141)
        let outcast = PeerAddress.local(42)
        network.partition(into: [network.addresses.filter { $0 != outcast }, [outcast]])
        network.run(for: .seconds(5))
        var random = SeededRandom(seed: 8)
        var ids: [MessageID] = []
        for _ in 0..<100 {
            let origin = network.liveAddresses.filter { $0 != outcast }.randomElement(using: &random)!
            ids.append(try network.publish(payload, from: origin))
            network.run(for: .milliseconds(10))
        }
        network.run(for: .seconds(1))
        #expect(ids.allSatisfy { network.deliveryCount(of: $0, at: outcast) == 0 })
        network.heal()
        network.run(for: BroadcastConfiguration().antiEntropyInterval * 5)
        let received = ids.filter { network.deliveryCount(of: $0, at: outcast) == 1 }.count
        #expect(received == 100)
        #expect(ids.allSatisfy { network.nodesMissing($0).isEmpty })
    }

    @Test("a payload over the limit is refused to the caller, never dropped silently")
    func payloadLimit() {
        var node = Node(configuration: configuration(1, seeds: []), randomSeed: 1)
        let limit = BroadcastConfiguration().maximumPayloadSize
        #expect(throws: PublishError.payloadTooLarge(size: limit + 1, limit: limit)) {
            _ = try node.publish([UInt8](repeating: 0, count: limit + 1), at: .zero)
        }
        let (id, effects) = try! node.publish([1, 2, 3], at: .zero)
        #expect(effects.contains(.deliver(Delivery(id: id, round: 0, payload: [1, 2, 3]))))
    }

    @Test("IHAVE batches never exceed the frame limit")
    func iHaveBatchesFitFrames() throws {
        var configurationWithSmallFrames = configuration(1, seeds: [])
        configurationWithSmallFrames.maximumFrameSize = 1024
        var node = Node(configuration: configurationWithSmallFrames, randomSeed: 1)
        // Two neighbours: payloads come from the first, and the second has pruned its link.
        let source = PeerDescriptor(id: NodeID("source")!, address: .local(2))
        let lazyPeer = PeerDescriptor(id: NodeID("lazy-peer")!, address: .local(3))
        for (link, peer) in [(LinkID(1), source), (LinkID(2), lazyPeer)] {
            _ = node.handle(.linkOpened(link, .inbound(remote: "x")), at: .zero)
            _ = node.handle(.received(link, .handshake(Handshake(sender: peer, epoch: 1))), at: .zero)
            _ = node.handle(.received(link, .versions(VersionOffer(WireFormat.versions))), at: .zero)
            _ = node.handle(.received(link, .join), at: .zero)
        }
        _ = node.handle(.received(LinkID(2), .prune), at: .zero)
        for sequence in 0..<200 {
            let id = MessageID(origin: source.id, epoch: 1, sequence: UInt64(sequence))
            _ = node.handle(.received(LinkID(1), .gossip(Gossip(id: id, round: 1, payload: [1]))), at: .zero)
        }
        let effects = node.handle(.timerFired(.iHaveBatch), at: .zero)
        let frames = effects.compactMap { effect -> Message? in
            if case .send(_, let message) = effect, case .iHave = message { return message } else { return nil }
        }
        #expect(frames.count > 1)
        #expect(frames.allSatisfy { MessageCodec.bodySize(of: $0) <= 1024 })
        #expect(frames.reduce(0) { if case .iHave(let batch) = $1 { $0 + batch.announcements.count } else { $0 } } == 200)
    }
}

@Suite("Broadcast stores")
struct MessageStoreTests {
    @Test("the payload cache keeps within its count, bytes and age, dropping the oldest first")
    func payloadCacheBounds() {
        var cache = PayloadCache(maximumCount: 3, maximumBytes: 250, retention: .seconds(10))
        func id(_ sequence: UInt64) -> MessageID { MessageID(origin: NodeID("o")!, epoch: 1, sequence: sequence) }
        var departed: [MessageID] = []
        for sequence: UInt64 in 0..<4 {
            departed += cache.insert(id(sequence), .init(payload: [UInt8](repeating: 0, count: 100), round: 0, sender: nil,
                                                         storedAt: Timestamp.zero + .seconds(Int64(sequence)))).map(\.id)
        }
        #expect(cache.count == 2 && cache.bytes == 200, "bytes bound: 4 × 100 B into 250 B")
        #expect(cache[id(3)] != nil && cache[id(2)] != nil && cache[id(1)] == nil)
        #expect(departed == [id(0), id(1)], "what had to go is handed back, oldest first")
        let expired = cache.expire(at: Timestamp.zero + .seconds(12.5))
        #expect(cache[id(2)] == nil && cache[id(3)] != nil)
        #expect(expired.map(\.id) == [id(2)] && expired.first?.storedAt == Timestamp.zero + .seconds(2))
        #expect(cache.digest(limit: 10) == [DigestEntry(origin: NodeID("o")!, epoch: 1, ranges: [3...3])])
    }

    @Test("the seen set keeps within its count, bytes and age")
    func seenSetBounds() {
        var seen = SeenSet(maximumCount: 100, maximumBytes: 10 * SeenSet.footprint(of: MessageID(origin: NodeID("o")!, epoch: 1, sequence: 0)),
                           retention: .seconds(5))
        for sequence in 0..<20 { seen.insert(MessageID(origin: NodeID("o")!, epoch: 1, sequence: UInt64(sequence)), at: .zero) }
        #expect(seen.count == 10)
        #expect(seen.contains(MessageID(origin: NodeID("o")!, epoch: 1, sequence: 19)))
        #expect(!seen.contains(MessageID(origin: NodeID("o")!, epoch: 1, sequence: 0)))
        seen.expire(at: Timestamp.zero + .seconds(6))
        #expect(seen.count == 0)
    }

    @Test("an id stays seen after its payload leaves the cache until the seen retention counted from delivery; then its origin's floor covers it and every older id for one more retention, and no newer one")
    func seenOutlivesPayload() {
        var configuration = BroadcastConfiguration()
        configuration.payloadCacheCount = 2
        configuration.payloadRetention = .seconds(10)
        configuration.seenRetention = .seconds(30)
        var state = PlumtreeState(configuration)
        func id(_ sequence: UInt64) -> MessageID { MessageID(origin: NodeID("o")!, epoch: 1, sequence: sequence) }
        for sequence: UInt64 in 0..<3 {
            state.store(id(sequence), .init(payload: [7], round: 0, sender: nil, storedAt: Timestamp.zero + .seconds(Int64(sequence))))
        }
        #expect(state.cache[id(0)] == nil && state.hasSeen(id(0)), "pushed out of the cache for space, still seen")
        #expect(state.seenCount == 3 && state.seen.count == 1, "a cached payload's id is not kept twice")
        state.expireMessages(at: Timestamp.zero + .seconds(15))
        #expect(state.cache.count == 0 && (0..<3).allSatisfy { state.hasSeen(id($0)) } && state.seenCount == 3)
        state.expireMessages(at: Timestamp.zero + .seconds(31.5))
        #expect(!state.seen.remembersExactly(id(0)) && !state.seen.remembersExactly(id(1)) && state.seen.remembersExactly(id(2)),
                "30 s from each delivery")
        #expect(state.hasSeen(id(0)) && state.hasSeen(id(1)), "a copy coming back later (a peer that got it late) is not delivered again")
        #expect(!state.hasSeen(id(3)), "a newer id of the same origin is still new")
        state.expireMessages(at: Timestamp.zero + .seconds(62.5))
        #expect(state.seen.count == 0 && state.hasSeen(id(2)))
        state.expireMessages(at: Timestamp.zero + .seconds(93))
        #expect(!state.hasSeen(id(0)) && !state.hasSeen(id(2)) && state.seen.floors.isEmpty, "floors go after one more retention")
    }

    @Test("a digest's ranges compress dense sequences")
    func digestRanges() {
        var cache = PayloadCache(maximumCount: 100, maximumBytes: 1 << 20, retention: .seconds(60))
        for sequence: UInt64 in [1, 2, 3, 7, 8, 10] {
            _ = cache.insert(MessageID(origin: NodeID("o")!, epoch: 4, sequence: sequence), .init(payload: [], round: 0, sender: nil, storedAt: .zero))
        }
        #expect(cache.digest(limit: 10).first?.ranges == [1...3, 7...8, 10...10])
    }
}
