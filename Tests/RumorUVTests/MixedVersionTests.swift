import RumorCore
import Testing
@testable import RumorUV

/// Nodes of different wire versions on loopback: the refusal a version-2 node gets, and one overlay from
/// nodes that offer only version 3 and nodes that offer 3 and 4, as during a rolling upgrade.
@Suite("Mixed wire versions, live")
struct MixedVersionTests {
    @Test("a version-2 peer's handshake gets a rejection naming both sides' versions, the link closes, and the node carries on")
    func versionTwoPeerIsRefused() async throws {
        let node = try await TestNode.start(id: "v4")
        let stranger = try RawSocket(connectingTo: node.endpoints.listen)
        // Byte for byte what a version-2 node sends first: header version 2, then the frozen handshake.
        stranger.send(MessageCodec.encodeFrame(.handshake(Handshake(
            version: 2, sender: PeerDescriptor(id: NodeID("old")!, address: PeerAddress(host: "127.0.0.1", port: 9999)), epoch: 1)),
            version: 2))
        let outcome = stranger.readUntilClosed()
        #expect(outcome.closed)
        let messages = try decodeFrames(outcome.bytes)
        #expect(messages.map(\.type) == [.handshake, .versions, .handshakeRejected])
        guard case .handshakeRejected(let rejection) = messages.last else { return }
        #expect(rejection.reason == .unsupportedVersion && rejection.supportedVersion == WireFormat.versions.upperBound)
        #expect(rejection.detail.contains("version 2") && rejection.detail.contains(WireFormat.describe(WireFormat.versions)), "\(rejection.detail)")
        let status = try #require(await node.runtime.status())
        #expect(status.node.active.isEmpty && status.node.counters.handshakesRejected == 1)
        #expect(await node.shutdown() == 0)
    }

    @Test("nodes of two clusters refuse each other, both count the refusal, and neither exits; nodes of one cluster link")
    func clustersStayApart() async throws {
        let blue = try await TestNode.start(id: "blue-1") { $0.node.clusterName = "blue" }
        let red = try await TestNode.start(id: "red-1", seeds: [blue.endpoints.listen]) { $0.node.clusterName = "red" }
        let alsoBlue = try await TestNode.start(id: "blue-2", seeds: [blue.endpoints.listen]) { $0.node.clusterName = "blue" }
        #expect(await eventually { await alsoBlue.activePeerIDs() == ["blue-1"] })
        let refused = await eventually {
            let redRejections = await red.runtime.status()?.node.counters.handshakesRejected ?? 0
            let blueRejections = await blue.runtime.status()?.node.counters.handshakesRejected ?? 0
            return redRejections > 0 && blueRejections > 0
        }
        #expect(refused, "both sides count the refusal")
        let redPeers = await red.activePeerIDs()
        let bluePeers = await blue.activePeerIDs()
        #expect(redPeers.isEmpty && !bluePeers.contains("red-1"))
        #expect(await red.runtime.status()?.node.clusterName == "red")
        for node in [blue, red, alsoBlue] { #expect(await node.shutdown() == 0) }
    }

    @Test("three nodes offering version 3 and three offering 3 and 4 form one overlay: every message reaches every node once, links between the newer nodes run at 4 and measure their round trips")
    func mixedMeshIsOneOverlay() async throws {
        var nodes: [TestNode] = []
        for index in 0..<6 {
            let older = index % 2 == 0
            let seeds = nodes.map(\.endpoints.listen)
            nodes.append(try await TestNode.start(id: "n\(index)", seeds: seeds, admin: false) {
                $0.node.wireVersions = older ? 3...3 : 3...4
            })
        }
        let oldIDs: Set<String> = ["n0", "n2", "n4"]
        let connected = await eventually(within: .seconds(10)) {
            var everyoneLinked = true
            for node in nodes where await node.activePeerIDs().isEmpty { everyoneLinked = false }
            return everyoneLinked
        }
        #expect(connected)
        var published: [MessageID] = []
        for (index, node) in nodes.enumerated() {
            published.append(try await node.runtime.publish(Array("from n\(index)".utf8)))
        }
        let delivered = await eventually(within: .seconds(10)) {
            for node in nodes where await node.runtime.deliveries(after: 0).count < published.count { return false }
            return true
        }
        #expect(delivered)
        for node in nodes {
            let ids = await node.runtime.deliveries(after: 0).map(\.delivery.id)
            #expect(Set(ids) == Set(published) && ids.count == published.count, "exactly once each")
        }
        // Every link runs at the highest version its two ends share; version-4 links measure a round trip.
        let measured = await eventually(within: .seconds(5)) {
            for node in nodes {
                guard let status = await node.runtime.status() else { return false }
                let nodeIsOld = oldIDs.contains(status.node.identity.id.rawValue)
                for peer in status.node.active {
                    let expected: UInt8 = nodeIsOld || oldIDs.contains(peer.id.rawValue) ? 3 : 4
                    if peer.wireVersion != expected { return false }
                    if expected == 4, peer.roundTripTime == nil { return false }
                    if expected == 3, peer.roundTripTime != nil { return false }
                }
            }
            return true
        }
        #expect(measured, "links at the wrong version, or a version-4 link with no round-trip time")
        var versionsInUse: Set<UInt8> = []
        for node in nodes { versionsInUse.formUnion(await node.runtime.status()?.node.active.map(\.wireVersion) ?? []) }
        #expect(versionsInUse == [3, 4], "both kinds of link were exercised")
        for node in nodes { #expect(await node.shutdown() == 0) }
    }
}
