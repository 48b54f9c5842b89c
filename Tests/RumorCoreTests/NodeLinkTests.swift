import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

@Suite("Node links: handshake, keepalive, seeds", .checkedSimulations)
struct NodeLinkTests {
    @Test("two nodes, one seeded by the other, end with one established link each way")
    func handshakeEstablishesLink() {
        var network = SimulatedNetwork()
        network.add(configuration(1, seeds: []), seed: 1)
        network.add(configuration(2, seeds: [1]), seed: 2)
        network.run(for: .milliseconds(50))
        #expect(network.node(at: .local(1)).status(at: network.now).active.map(\.id.rawValue) == ["n2"])
        #expect(network.node(at: .local(2)).status(at: network.now).active.map(\.id.rawValue) == ["n1"])
        #expect(network.node(at: .local(2)).status(at: network.now).active.first?.address == .local(1))
    }

    @Test("a version-2 node, which cannot negotiate, is refused at its handshake with a reason naming both sides' versions")
    func versionMismatchIsRefused() {
        var node = Node(configuration: configuration(1, seeds: []), randomSeed: 1)
        let link = LinkID(9)
        _ = node.handle(.linkOpened(link, .inbound(remote: "127.0.0.1:5555")), at: .zero)
        let stranger = Handshake(version: 2, sender: PeerDescriptor(id: NodeID("old")!, address: .local(9)), epoch: 1)
        let effects = node.handle(.received(link, .handshake(stranger)), at: .zero)
        let rejection = effects.compactMap { effect -> HandshakeRejection? in
            if case .send(link, .handshakeRejected(let rejection)) = effect { return rejection }
            return nil
        }.first
        #expect(rejection?.reason == .unsupportedVersion)
        #expect(rejection?.detail.contains("version 2") == true && rejection?.detail.contains(WireFormat.describe(WireFormat.versions)) == true)
        #expect(rejection?.supportedVersion == WireFormat.versions.upperBound)
        #expect(effects.contains { if case .close(link, _) = $0 { true } else { false } })
        #expect(node.status(at: .zero).active.isEmpty)
        #expect(node.status(at: .zero).counters.handshakesRejected == 1)
    }

    @Test("a node that lists itself among its seeds refuses the link to itself and still joins the others")
    func selfSeedIsHarmless() {
        var network = SimulatedNetwork()
        network.add(configuration(1, seeds: [1]), seed: 1)
        network.add(configuration(2, seeds: [2, 1]), seed: 2)
        network.run(for: .milliseconds(100))
        #expect(network.node(at: .local(2)).status(at: network.now).active.map(\.id.rawValue) == ["n1"])
        #expect(network.node(at: .local(1)).status(at: network.now).active.map(\.id.rawValue) == ["n2"])
    }

    @Test("a message before the handshake closes the link as a protocol violation")
    func messageBeforeHandshake() {
        var node = Node(configuration: configuration(1, seeds: []), randomSeed: 1)
        _ = node.handle(.linkOpened(LinkID(3), .inbound(remote: "x")), at: .zero)
        let effects = node.handle(.received(LinkID(3), .join), at: .zero)
        #expect(effects.contains { if case .close(LinkID(3), _) = $0 { true } else { false } })
    }

    @Test("a link that never completes its handshake is closed by the first maintenance tick past the deadline")
    func handshakeDeadline() {
        var node = Node(configuration: configuration(1, seeds: []), randomSeed: 1)
        let opened = node.handle(.linkOpened(LinkID(4), .inbound(remote: "x")), at: .zero)
        #expect(opened.contains(.armTimer(.linkMaintenance, after: node.maintenancePeriod)))
        let early = node.handle(.timerFired(.linkMaintenance), at: Timestamp.zero + .seconds(5))
        #expect(!early.contains { if case .close(LinkID(4), _) = $0 { true } else { false } })
        let late = node.handle(.timerFired(.linkMaintenance), at: Timestamp.zero + .milliseconds(5500))
        #expect(late.contains { if case .close(LinkID(4), _) = $0 { true } else { false } })
        #expect(node.status(at: .zero).pendingLinks == 0)
    }

    @Test("an idle link carries keepalives (PINGs at version 4); a peer that falls silent is dropped after the silence timeout")
    func keepAliveAndSilence() {
        var network = SimulatedNetwork()
        network.recordsMessages = true
        network.add(configuration(1, seeds: []), seed: 1)
        network.add(configuration(2, seeds: [1]), seed: 2)
        network.run(for: .seconds(5))
        #expect(network.sent.contains { if case .ping = $0.message { true } else { false } })
        #expect(network.node(at: .local(1)).status(at: network.now).active.count == 1)
        // A hung peer: its socket stays open but nothing comes through.
        network.partition(into: [[.local(1)], [.local(2)]])
        network.run(for: .seconds(4))
        let status = network.node(at: .local(1)).status(at: network.now)
        #expect(status.active.isEmpty)
        #expect(status.counters.silentLinksClosed == 1)
    }

    @Test("an unreachable seed is retried with growing delays until it comes up")
    func seedRetryBackoff() {
        var network = SimulatedNetwork()
        network.add(configuration(2, seeds: [1]), seed: 2)
        network.run(for: .seconds(3))
        let retries = network.node(at: .local(2)).status(at: network.now).counters.seedRetries
        #expect(retries >= 2 && retries <= 6, "retries in 3 s with a doubling delay from 250 ms: \(retries)")
        network.add(configuration(1, seeds: []), seed: 1)
        network.run(for: .seconds(20))
        #expect(network.node(at: .local(2)).status(at: network.now).active.map(\.id.rawValue) == ["n1"])
    }

    @Test("two nodes that dial each other at once keep exactly one link")
    func simultaneousDial() {
        var network = SimulatedNetwork()
        network.add(configuration(1, seeds: [2]), seed: 1)
        network.add(configuration(2, seeds: [1]), seed: 2)
        network.run(for: .milliseconds(100))
        let one = network.node(at: .local(1)).status(at: network.now).active
        let two = network.node(at: .local(2)).status(at: network.now).active
        #expect(one.count == 1 && two.count == 1)
    }

    @Test("a restarted peer with a higher epoch replaces its old link at once, and the old link's late DISCONNECT is ignored")
    func restartedPeerReplacesOldLink() {
        var node = Node(configuration: configuration(1, seeds: []), randomSeed: 1)
        let peer = PeerDescriptor(id: NodeID("n2")!, address: .local(2))
        _ = node.handle(.linkOpened(LinkID(1), .inbound(remote: "a")), at: .zero)
        _ = node.handle(.received(LinkID(1), .handshake(Handshake(sender: peer, epoch: 1))), at: .zero)
        _ = node.handle(.received(LinkID(1), .versions(VersionOffer(WireFormat.versions))), at: .zero)
        _ = node.handle(.received(LinkID(1), .join), at: .zero)
        #expect(node.status(at: .zero).active.map(\.epoch) == [1])
        _ = node.handle(.linkOpened(LinkID(2), .inbound(remote: "b")), at: .zero)
        _ = node.handle(.received(LinkID(2), .handshake(Handshake(sender: peer, epoch: 2))), at: .zero)
        let effects = node.handle(.received(LinkID(2), .versions(VersionOffer(WireFormat.versions))), at: .zero)
        #expect(effects.contains { if case .close(LinkID(1), _) = $0 { true } else { false } })
        _ = node.handle(.received(LinkID(2), .join), at: .zero)
        #expect(node.status(at: .zero).active.map(\.epoch) == [2])
        // The old life's DISCONNECT, arriving late on its old link, changes nothing.
        _ = node.handle(.received(LinkID(1), .disconnect(Disconnect(alive: false))), at: .zero)
        #expect(node.status(at: .zero).active.map(\.epoch) == [2])
    }

    @Test("the same seeds give the same run twice")
    func determinism() {
        func run() -> [String] {
            var network = SimulatedNetwork()
            network.recordsMessages = true
            for index in 1...6 { network.add(configuration(index, seeds: [1, 2]), seed: UInt64(index)) }
            network.run(for: .seconds(3))
            return network.sent.map { "\($0.from) \($0.message.type)" }
        }
        #expect(run() == run())
    }

    @Test("leaving sends DISCONNECT to every linked peer and closes its links")
    func gracefulLeave() {
        var network = SimulatedNetwork()
        network.add(configuration(1, seeds: []), seed: 1)
        network.add(configuration(2, seeds: [1]), seed: 2)
        network.run(for: .milliseconds(50))
        var node = network.node(at: .local(2))
        let effects = node.handle(.stop, at: network.now)
        #expect(effects.contains { if case .send(_, .disconnect(Disconnect(alive: false))) = $0 { true } else { false } })
        #expect(effects.contains { if case .close = $0 { true } else { false } })
    }
}
