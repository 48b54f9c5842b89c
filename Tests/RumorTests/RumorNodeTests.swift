import Logging
import Rumor
import ServiceLifecycle
import Testing

/// The embeddable API as a program uses it: nodes on loopback in this process, no HTTP, no child process.
@Suite("Rumor embedded in a program", .serialized)
struct RumorNodeTests {
    static func configuration(_ id: String, seeds: [PeerAddress] = []) -> RumorConfiguration {
        var configuration = RumorConfiguration(listen: PeerAddress(host: "127.0.0.1", port: 0), seeds: seeds, id: NodeID(id))
        configuration.randomSeed = 7
        return configuration
    }

    @Test("two nodes in one process: one publishes, the other reads it from its deliveries; status and samples show the link; both leave")
    func twoNodes() async throws {
        let first = try RumorNode(configuration: Self.configuration("first"))
        let firstAddress = try await first.start()
        let second = try RumorNode(configuration: Self.configuration("second", seeds: [firstAddress]))
        // Subscribed before the start, so nothing can be missed.
        let deliveries = try await second.deliveries(buffer: 16)
        let secondAddress = try await second.start()
        #expect(firstAddress.host == "127.0.0.1" && firstAddress.port != 0 && first.listenAddress == firstAddress)

        #expect(await eventually {
            let (firstPeers, secondPeers) = (await activeIDs(first), await activeIDs(second))
            return firstPeers == ["second"] && secondPeers == ["first"]
        })
        let status = try await second.status()
        #expect(status.id == NodeID("second") && second.id == NodeID("second"))
        #expect(status.listen == secondAddress)
        #expect(status.activePeers == [PeerDescriptor(id: NodeID("first")!, address: firstAddress)])
        #expect(status.release == RumorRelease.version && status.wireVersions == WireFormat.versions)
        #expect(try await second.samplePeers(3) == [PeerDescriptor(id: NodeID("first")!, address: firstAddress)])
        #expect(try await second.samplePeers(0).isEmpty)

        let id = try await first.publish("hello, second")
        var iterator = deliveries.makeAsyncIterator()
        guard case .delivery(let recorded) = await iterator.next() else {
            Issue.record("expected a delivery")
            return
        }
        #expect(recorded.delivery.id == id && id.origin == NodeID("first"))
        #expect(String(decoding: recorded.delivery.payload, as: UTF8.self) == "hello, second")
        #expect(recorded.delivery.round == 1)

        // The directory: both list each other; a tag set on the first reaches the second's member list.
        let memberEvents = try await second.memberEventStream(buffer: 64)
        try await first.setTags(["role": "primary"])
        var memberIterator = memberEvents.makeAsyncIterator()
        var sawUpdate = false
        // Should the update never come, leaving ends the sequence and the expectation fails instead of hanging.
        let watchdog = Task { [second] in
            try await Task.sleep(for: .seconds(10))
            await second.leave()
        }
        while !sawUpdate, let event = await memberIterator.next() {
            if case .record(let recorded) = event, recorded.event.kind == .updated, recorded.event.entry.tags == ["role": "primary"] { sawUpdate = true }
        }
        watchdog.cancel()
        #expect(sawUpdate)
        #expect(await eventually {
            let members = (try? await second.members()) ?? []
            return members.map(\.entry.id.rawValue) == ["first", "second"] && members.first?.entry.tags == ["role": "primary"]
        })
        #expect(try await second.memberEvents().contains { $0.event.kind == .updated && $0.event.entry.id == NodeID("first") })
        await #expect(throws: RumorError.invalidTags("a tag key is empty")) { try await first.setTags(["": "x"]) }

        await second.leave()
        await first.leave()
        // Leaving ends the deliveries, and the node is done for good.
        #expect(await iterator.next() == nil)
        #expect(second.listenAddress == nil)
        await #expect(throws: RumorError.stopped) { try await first.publish("late") }
        await #expect(throws: RumorError.stopped) { try await first.status() }
        await #expect(throws: RumorError.stopped) { try await first.deliveries() }
        await #expect(throws: RumorError.stopped) { try await first.start() }
        await first.leave()
    }

    @Test("errors say what was wrong: configuration, address in use, order of calls, payload size")
    func typedErrors() async throws {
        var bad = Self.configuration("bad")
        bad.membership.seedLinks = 0
        #expect(throws: RumorError.invalidConfiguration("membership.seedLinks must be 1 to membership.activeViewSize")) {
            try RumorNode(configuration: bad)
        }
        var missingKey = Self.configuration("keyless")
        missingKey.clusterKey = .file("/nonexistent/cluster.keys")
        #expect(throws: RumorError.clusterKey("cannot read keyring file /nonexistent/cluster.keys: No such file or directory")) {
            try RumorNode(configuration: missingKey)
        }

        var small = Self.configuration("small")
        small.broadcast.maximumPayloadSize = 8
        let node = try RumorNode(configuration: small)
        await #expect(throws: RumorError.notStarted) { try await node.publish("early") }
        await #expect(throws: RumorError.notStarted) { try await node.samplePeers(1) }
        let address = try await node.start()
        await #expect(throws: RumorError.alreadyStarted) { try await node.start() }
        await #expect(throws: RumorError.payloadTooLarge(size: 9, limit: 8)) { try await node.publish("123456789") }

        var clash = Self.configuration("clash")
        clash.listen = address
        let second = try RumorNode(configuration: clash)
        await #expect(throws: RumorError.addressInUse(address)) { try await second.start() }
        await second.leave()
        await node.leave()
    }

    @Test("a reader that falls behind its buffer is told how many deliveries it missed, then reads on")
    func laggingReader() async throws {
        let node = try RumorNode(configuration: Self.configuration("alone"))
        let deliveries = try await node.deliveries(buffer: 1)
        try await node.start()
        for text in ["one", "two", "three"] { _ = try await node.publish(text) }
        #expect(await eventually { (try? await node.status().node.counters.delivered) == 3 })
        var iterator = deliveries.makeAsyncIterator()
        guard case .lagged(let missed) = await iterator.next() else {
            Issue.record("expected the lag marker first")
            return
        }
        #expect(missed == 2)
        guard case .delivery(let recorded) = await iterator.next() else {
            Issue.record("expected the buffered delivery")
            return
        }
        #expect(recorded.delivery.payload == Array("one".utf8))
        await node.leave()
    }

    @Test("in a ServiceGroup the node starts with the group and leaves on graceful shutdown: its peer hears a DISCONNECT, not a silence")
    func serviceGroup() async throws {
        let peer = try RumorNode(configuration: Self.configuration("peer"))
        let peerAddress = try await peer.start()
        let member = try RumorNode(configuration: Self.configuration("member", seeds: [peerAddress]))
        let group = ServiceGroup(services: [member], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await eventually { await activeIDs(peer) == ["member"] })
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // The group returns once the member has left: it is done, and its peer saw a departure.
        #expect(member.listenAddress == nil)
        await #expect(throws: RumorError.stopped) { try await member.status() }
        #expect(await eventually { await activeIDs(peer).isEmpty })
        let counters = try await peer.status().node.counters
        #expect(counters.failedLinks == 0, "the link failed instead of being left: \(counters)")
        await peer.leave()
    }
}

private func activeIDs(_ node: RumorNode) async -> [String] {
    (try? await node.status().activePeers.map(\.id.rawValue)) ?? []
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
private func eventually(within timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
