import RumorCore
import RumorSecurity
import Testing
@testable import RumorUV

/// A keyring of one fresh key.
func freshKeyring() -> Keyring { Keyring(ClusterKey.generate()) }

extension TestNode {
    static func start(id: String, seeds: [PeerAddress] = [], keyring: Keyring?) async throws -> TestNode {
        try await start(id: id, seeds: seeds) { $0.keyring = keyring }
    }

    func metricsText() async throws -> String {
        try await AdminClient.request("GET", "/metrics", to: endpoints.admin!).text
    }

    func deliveredPayloads() async -> [String] {
        await runtime.deliveries(after: 0).map { String(decoding: $0.delivery.payload, as: UTF8.self) }
    }
}

/// A client that holds the key and completes the handshake by hand, then sends what it likes.
struct KeyedIntruder {
    let socket: RawSocket
    var channel: SealedChannel

    init(node: TestNode, keyring: Keyring) throws {
        socket = try RawSocket(connectingTo: node.endpoints.listen)
        var initiator = HandshakeInitiator(keyring: keyring)
        socket.sendFrame(initiator.hello)
        guard let reply = socket.receiveFrameBody() else { throw RawSocketError(description: "no REPLY from the node") }
        let step = try initiator.receive(reply)
        guard let channel = step.channel, let confirm = step.messageToSend else { throw RawSocketError(description: "handshake did not finish") }
        socket.sendFrame(confirm)
        self.channel = channel
    }

    /// A protocol handshake frame body, sealed: what a real peer sends first.
    mutating func sealedHello(id: String) throws -> [UInt8] {
        let frame = MessageCodec.encodeFrame(.handshake(Handshake(
            sender: PeerDescriptor(id: NodeID(id)!, address: PeerAddress(host: "127.0.0.1", port: 9)), epoch: 1)))
        return try channel.seal(Array(frame[WireFormat.lengthPrefixSize...]))
    }
}

@Suite("Cluster key: only key holders join, read or inject", .serialized)
struct ClusterKeyTests {
    @Test("Three nodes with the same key form an overlay and every broadcast reaches all three")
    func sameKeyFormsAnOverlay() async throws {
        let keyring = freshKeyring()
        let first = try await TestNode.start(id: "k1", keyring: keyring)
        let second = try await TestNode.start(id: "k2", seeds: [first.endpoints.listen], keyring: keyring)
        let third = try await TestNode.start(id: "k3", seeds: [first.endpoints.listen], keyring: keyring)
        #expect(await eventually { await first.activePeerIDs().sorted() == ["k2", "k3"] })
        _ = try await third.runtime.publish(Array("sealed hello".utf8))
        for node in [first, second, third] {
            #expect(await eventually { await node.deliveredPayloads() == ["sealed hello"] })
        }
        #expect(try await first.metricsText().contains("rumor_secured_links_total 2"))
        for node in [third, second, first] { #expect(await node.shutdown() == 0) }
    }

    @Test("A node holding the new key second still accepts links under it: keys rotate without downtime")
    func rotationKeyring() async throws {
        let old = ClusterKey.generate()
        let new = ClusterKey.generate()
        let first = try await TestNode.start(id: "r1", keyring: try Keyring([old, new]))
        let second = try await TestNode.start(id: "r2", seeds: [first.endpoints.listen], keyring: Keyring(new))
        #expect(await eventually { await first.activePeerIDs() == ["r2"] })
        #expect(await second.shutdown() == 0)
        #expect(await first.shutdown() == 0)
    }

    @Test("A node with another key, or with none, is refused at the handshake, and the refusal is counted with its reason")
    func strangersAreRefused() async throws {
        let member = try await TestNode.start(id: "member", keyring: freshKeyring())
        let foreign = try await TestNode.start(id: "foreign", seeds: [member.endpoints.listen], keyring: freshKeyring())
        let open = try await TestNode.start(id: "open", seeds: [member.endpoints.listen], keyring: nil)
        let metrics = { try await member.metricsText() }
        #expect(await eventually {
            let text = (try? await metrics()) ?? ""
            return text.contains(#"rumor_security_failures_total{reason="unknown_key"}"#)
                && text.contains(#"rumor_security_failures_total{reason="malformed_handshake"}"#)
        })
        #expect(await member.activePeerIDs().isEmpty)
        #expect(await foreign.activePeerIDs().isEmpty)
        #expect(await open.activePeerIDs().isEmpty)
        _ = try await open.runtime.publish(Array("injected".utf8))
        try await Task.sleep(for: .milliseconds(300))
        #expect(await member.deliveredPayloads().isEmpty)
        for node in [open, foreign, member] { #expect(await node.shutdown() == 0) }
    }

    @Test("A sealed frame with one bit flipped closes the link and is counted")
    func flippedBitClosesTheLink() async throws {
        let keyring = freshKeyring()
        let node = try await TestNode.start(id: "target", keyring: keyring)
        var intruder = try KeyedIntruder(node: node, keyring: keyring)
        var sealed = try intruder.sealedHello(id: "tamper")
        sealed[sealed.count / 2] ^= 0x10
        intruder.socket.sendFrame(sealed)
        #expect(intruder.socket.readUntilClosed().closed)
        #expect(try await node.metricsText().contains(#"rumor_security_failures_total{reason="bad_sealed_frame"} 1"#))
        #expect(await node.activePeerIDs().isEmpty)
        #expect(await node.shutdown() == 0)
    }

    @Test("A replayed sealed frame closes the link")
    func replayedFrameClosesTheLink() async throws {
        let keyring = freshKeyring()
        let node = try await TestNode.start(id: "target", keyring: keyring)
        var intruder = try KeyedIntruder(node: node, keyring: keyring)
        let sealed = try intruder.sealedHello(id: "replayer")
        intruder.socket.sendFrame(sealed)
        intruder.socket.sendFrame(sealed)
        #expect(intruder.socket.readUntilClosed().closed)
        #expect(try await node.metricsText().contains(#"rumor_security_failures_total{reason="bad_sealed_frame"} 1"#))
        #expect(await node.shutdown() == 0)
    }

    @Test("A truncated handshake closes the link, and so does a peer that stalls in it")
    func truncatedAndStalledHandshakes() async throws {
        let keyring = freshKeyring()
        let node = try await TestNode.start(id: "target") {
            $0.keyring = keyring
            $0.limits.securityHandshakeTimeout = .milliseconds(300)
        }
        let truncated = try RawSocket(connectingTo: node.endpoints.listen)
        truncated.sendFrame(Array(HandshakeInitiator(keyring: keyring).hello.prefix(10)))
        #expect(truncated.readUntilClosed().closed)
        let stalled = try RawSocket(connectingTo: node.endpoints.listen)
        stalled.send(Array(HandshakeInitiator(keyring: keyring).hello.prefix(3)))
        #expect(stalled.readUntilClosed().closed)
        let text = try await node.metricsText()
        #expect(text.contains(#"rumor_security_failures_total{reason="malformed_handshake"} 1"#))
        #expect(text.contains(#"rumor_security_failures_total{reason="handshake_timeout"} 1"#))
        #expect(await node.shutdown() == 0)
    }

    @Test("A huge length prefix where a handshake is due is refused before anything is buffered")
    func hugePrefixDuringHandshake() async throws {
        let node = try await TestNode.start(id: "target", keyring: freshKeyring())
        let attacker = try RawSocket(connectingTo: node.endpoints.listen)
        attacker.send([0x00, 0xFF, 0xFF, 0xFF, 0xA0, 0x01])
        #expect(attacker.readUntilClosed().closed)
        #expect(try await node.metricsText().contains(#"rumor_security_failures_total{reason="malformed_handshake"} 1"#))
        #expect(await node.shutdown() == 0)
    }

    @Test("Connections beyond the inbound limit are closed at once and counted; the node keeps its links")
    func inboundLimit() async throws {
        let node = try await TestNode.start(id: "bounded") { $0.limits.maximumInboundLinks = 3 }
        var sockets: [RawSocket] = []
        for _ in 0..<5 { sockets.append(try RawSocket(connectingTo: node.endpoints.listen)) }
        #expect(await eventually {
            ((try? await node.metricsText()) ?? "").contains(#"rumor_limit_reached_total{limit="inbound_links"} 2"#)
        })
        #expect(await node.shutdown() == 0)
    }
}
