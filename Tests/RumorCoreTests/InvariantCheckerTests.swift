import Testing
@testable import RumorCore
@testable import RumorSim
import SimulationTestSupport

/// Each invariant broken on purpose in an otherwise healthy node (or network) is reported by name; the
/// healthy state itself reports nothing. The checker is only worth its cost if it can fail.
@Suite("Invariant checker: every invariant, broken on purpose, is named")
struct InvariantCheckerTests {
    /// Eight nodes joined, one message delivered everywhere, and node 1 as it stands then.
    static func healthyOverlay() -> (network: SimulatedNetwork, node: Node, message: MessageID) {
        var network = joinedOverlay(8, seed: 3, settle: .seconds(8))
        let message = try! network.publish(Array("checked".utf8), from: .local(2))
        network.run(for: .seconds(1))
        return (network, network.node(at: .local(1)), message)
    }

    static let ghost = PeerDescriptor(id: NodeID("ghost")!, address: PeerAddress(host: "127.9.9.9", port: 7000))

    func expectNamed(_ invariant: Invariant, in node: Node, sourceLocation: SourceLocation = #_sourceLocation) {
        let named = (invariant.isLocal ? node.invariantViolations() : node.deepInvariantViolations()).map(\.invariant)
        #expect(named.contains(invariant), "found \(named) instead", sourceLocation: sourceLocation)
    }

    @Test("a healthy node and network break no invariant")
    func healthyStateIsClean() {
        let (network, node, _) = Self.healthyOverlay()
        #expect(node.invariantViolations().isEmpty)
        #expect(node.deepInvariantViolations().isEmpty)
        #expect(network.invariantViolations.isEmpty)
        #expect(network.invariantChecks > 1000)
    }

    @Test("selfNotInViews: the node's own descriptor in its passive view")
    func selfInView() {
        var node = Self.healthyOverlay().node
        node.passive.insert(node.identity, age: 0)
        expectNamed(.selfNotInViews, in: node)
    }

    @Test("viewsDistinctAndDisjoint: an active peer also in the passive view")
    func activePeerInPassiveView() {
        var node = Self.healthyOverlay().node
        node.passive.insert(node.activePeers[0], age: 3)
        expectNamed(.viewsDistinctAndDisjoint, in: node)
    }

    @Test("viewsWithinBounds: more active peers than the active view's size")
    func activeViewOverflows() {
        var node = Self.healthyOverlay().node
        for number in 0...node.configuration.membership.activeViewSize {
            let peer = PeerDescriptor(id: NodeID("extra\(number)")!, address: PeerAddress(host: "127.8.0.\(number + 1)", port: 7000))
            node.active.add(ActiveView.Entry(peer: peer, epoch: 1, since: .zero))
        }
        expectNamed(.viewsWithinBounds, in: node)
    }

    @Test("activePeersLinked: an active peer whose link the node forgot")
    func activePeerWithoutLink() {
        var node = Self.healthyOverlay().node
        node.linkByPeer[node.activePeers[0].id] = nil
        expectNamed(.activePeersLinked, in: node)
    }

    @Test("linkVersionsSettled: an established link at a version the node does not offer, and a PING outstanding on a version-3 link")
    func linkAtForeignVersion() throws {
        var node = Self.healthyOverlay().node
        let link = try #require(node.linkByPeer[node.activePeers[0].id])
        node.links.update(link) { $0.wireVersion = 9 }
        expectNamed(.linkVersionsSettled, in: node)
        node.links.update(link) {
            $0.wireVersion = 3
            $0.probe.outstandingToken = 1
        }
        expectNamed(.linkVersionsSettled, in: node)
    }

    @Test("treeMatchesActiveView: an eager peer that is not an active peer")
    func eagerPeerOutsideActiveView() {
        var node = Self.healthyOverlay().node
        node.plumtree.eager.append(Self.ghost.id)
        expectNamed(.treeMatchesActiveView, in: node)
    }

    @Test("treeMatchesActiveView: an active peer neither eager nor lazy")
    func activePeerOutsideTree() {
        var node = Self.healthyOverlay().node
        node.plumtree.remove(node.activePeers[0].id)
        expectNamed(.treeMatchesActiveView, in: node)
    }

    @Test("dialsHaveIntents: an address being dialled with nothing to do once linked")
    func dialWithoutIntent() {
        var node = Self.healthyOverlay().node
        node.dialing.insert(Self.ghost.address)
        expectNamed(.dialsHaveIntents, in: node)
    }

    @Test("requestsWatched: a request outstanding to a peer with no link")
    func requestWithoutLink() {
        var node = Self.healthyOverlay().node
        node.outstanding[Self.ghost.id] = OutstandingRequest(kind: .neighbor(.low), sentAt: node.now)
        expectNamed(.requestsWatched, in: node)
    }

    @Test("linksWatched: links open while the node believes no maintenance tick is armed")
    func linksWithoutMaintenance() {
        var node = Self.healthyOverlay().node
        node.maintenanceArmed = false
        expectNamed(.linksWatched, in: node)
    }

    @Test("periodicTimersArmed: a running node without its shuffle round")
    func shuffleNotArmed() {
        var node = Self.healthyOverlay().node
        node.armedTimers.remove(.shuffle)
        expectNamed(.periodicTimersArmed, in: node)
    }

    @Test("graftsScheduled: a missing payload with no GRAFT deadline")
    func missingWithoutDeadline() {
        var node = Self.healthyOverlay().node
        let id = MessageID(origin: Self.ghost.id, epoch: 1, sequence: 0)
        node.plumtree.missing[id] = [.init(peer: node.activePeers[0].id, round: 1, heardAt: .zero)]
        expectNamed(.graftsScheduled, in: node)
        expectNamed(.messageStoreConsistent, in: node)
    }

    @Test("announcementsBatched: IHAVEs waiting for a peer that is not active")
    func announcementForStranger() {
        var node = Self.healthyOverlay().node
        node.plumtree.lazyQueue[Self.ghost.id] = [Announcement(id: MessageID(origin: Self.ghost.id, epoch: 1, sequence: 0), round: 1)]
        expectNamed(.announcementsBatched, in: node)
    }

    @Test("messageStateBounded: more pulls outstanding than the limit")
    func pullsOverLimit() {
        var settings = configuration(1, seeds: [])
        settings.broadcast.maximumPulled = 0
        var node = Node(configuration: settings, randomSeed: 1)
        node.plumtree.pulled[MessageID(origin: Self.ghost.id, epoch: 1, sequence: 0)] = (Self.ghost.id, .zero)
        expectNamed(.messageStateBounded, in: node)
    }

    @Test("samplesDistinctNotSelf: the node holds itself as a sample")
    func selfAsSample() {
        var node = Self.healthyOverlay().node
        node.samplingState.reservoir.insert(node.identity, at: node.now, walk: SamplingState.Walk(nonce: 1, startedAt: node.now))
        expectNamed(.samplesDistinctNotSelf, in: node)
    }

    @Test("samplingBounded: more walks in flight than the limit")
    func walksOverLimit() {
        var settings = configuration(1, seeds: [])
        settings.sampling.maximumOutstandingWalks = 0
        var node = Node(configuration: settings, randomSeed: 1)
        node.samplingState.started(7, at: .zero)
        expectNamed(.samplingBounded, in: node)
    }

    @Test("messageStoreConsistent: an id both cached and in the seen set")
    func cachedAndSeen() {
        var (_, node, message) = Self.healthyOverlay()
        node.plumtree.seen.insert(message, at: node.now)
        expectNamed(.messageStoreConsistent, in: node)
    }

    /// Node 1 of the healthy overlay and its first active peer, changed by `change` (which is told whether
    /// node 1 pushes to that peer), through the quiet-point check.
    static func quietPointCheck(changing change: (inout Node, NodeID, _ nodePushes: Bool) -> Void) -> [Invariant] {
        let (network, node, _) = healthyOverlay()
        let peerID = node.activePeers[0].id
        let peerIndex = network.index(of: node.activePeers[0].address)!
        var directory = NetworkDirectory()
        directory.addressOf = (0..<network.nodeCount).map(network.address(of:))
        directory.indexOf = Dictionary(uniqueKeysWithValues: directory.addressOf.enumerated().map { ($1, $0) })
        directory.isDown = Array(repeating: false, count: network.nodeCount)
        directory.isFrozen = directory.isDown
        var peer = network.node(index: peerIndex)
        change(&peer, node.identity.id, node.eagerPeerIDs.contains(peerID))
        return QuietPointCheck.violations(at: network.now, directory: directory) { $0 == peerIndex ? peer : network.node(index: $0) }.map(\.invariant)
    }

    @Test("activeViewsSymmetric: a peer that dropped the node from its active view without telling it")
    func asymmetricActiveViews() {
        #expect(Self.quietPointCheck { _, _, _ in }.isEmpty)
        #expect(Self.quietPointCheck { peer, node, _ in _ = peer.removeFromActive(node) }.contains(.activeViewsSymmetric))
    }

    @Test("eagerSetsSymmetric: one end of a link pushes while the other only announces")
    func asymmetricEagerSets() {
        let found = Self.quietPointCheck { peer, node, nodePushes in
            if nodePushes { peer.plumtree.makeLazy(node) } else { peer.plumtree.makeEager(node) }
        }
        #expect(found == [.eagerSetsSymmetric])
    }

    @Test("deliveredExactlyOnce: a node that delivers one message twice")
    func duplicateDelivery() {
        var shard = NetworkShard(number: 0, of: 1)
        shard.checksInvariants = true
        shard.directory.addressOf = [.local(0)]
        shard.directory.indexOf = [.local(0): 0]
        shard.directory.isDown = [false]
        shard.directory.isFrozen = [false]
        shard.append(Node(configuration: configuration(0, seeds: []), randomSeed: 1), randomSeed: 1)
        let id = MessageID(origin: NodeID("n0")!, epoch: 1, sequence: 0)
        shard.track(id, publishedAt: .zero)
        let delivery = Delivery(id: id, round: 0, payload: [1])
        shard.carryOut([.deliver(delivery)], from: 0)
        #expect(shard.invariantViolations.isEmpty)
        shard.carryOut([.deliver(delivery)], from: 0)
        #expect(shard.invariantViolations.map(\.invariant) == [.deliveredExactlyOnce])
    }

    @Test("the checker runs after every event and every publish of a node that checks")
    func checkerRunsOnEveryEvent() throws {
        var (node, link, _) = nodeWithOnePeer()
        node.checksInvariants = true
        let before = node.invariantChecks
        _ = node.handle(.timerFired(.linkMaintenance), at: .zero + .milliseconds(600))
        _ = node.handle(.received(link, .keepAlive), at: .zero + .milliseconds(700))
        _ = try node.publish([1, 2, 3], at: .zero + .milliseconds(800))
        _ = node.handle(.timerFired(.iHaveBatch), at: .zero + .milliseconds(900))
        #expect(node.invariantChecks == before + 4)
        node.checksInvariants = false
        _ = node.handle(.received(link, .keepAlive), at: .zero + .seconds(1))
        #expect(node.invariantChecks == before + 4)
    }

    @Test("a test's ledger fails a network whose checker was off or never ran, and passes a checked one")
    func ledgerFailsUncheckedNetworks() {
        let ledger = InvariantLedger()
        InvariantLedger.$current.withValue(ledger) {
            var unchecked = SimulatedNetwork(checksInvariants: false)
            unchecked.add(configuration(0, seeds: []), seed: 1)
            unchecked.run(for: .seconds(1))
            _ = SimulatedNetwork()
        }
        #expect(ledger.networks == 2)
        #expect(ledger.problems == ["simulated network #1 ran with its invariant checker switched off",
                                    "simulated network #2 never checked an invariant"])
        let passing = InvariantLedger()
        InvariantLedger.$current.withValue(passing) {
            var checked = SimulatedNetwork()
            checked.add(configuration(0, seeds: []), seed: 1)
            checked.run(for: .seconds(1))
        }
        #expect(passing.problems.isEmpty)
        #expect(passing.checks > 0)
    }
}
