import Testing
@testable import RumorSecurity

@Suite("Handshake: who gets in")
struct HandshakeTests {
    @Test("two nodes with the same key are both established and exchange sealed frames both ways, in order")
    func sameKey() throws {
        var link = try runHandshake()
        #expect(link.initiator.keyID == TestKeys.a.id)
        #expect(link.responder.keyID == TestKeys.a.id)
        for round in 0..<20 {
            let request = Array("request \(round)".utf8)
            let answer = Array("answer \(round)".utf8)
            #expect(try link.responder.open(link.initiator.seal(request)) == request)
            #expect(try link.initiator.open(link.responder.seal(answer)) == answer)
        }
        // Several in flight at once, each way.
        let burst = (0..<10).map { [UInt8](repeating: UInt8($0), count: $0 * 100) }
        let sealed = try burst.map { try link.initiator.seal($0) }
        #expect(try sealed.map { try link.responder.open($0) } == burst)
    }

    @Test("the initiator may seal frames right behind its CONFIRM; the responder opens them once established")
    func pipelinedFrames() throws {
        var initiator = HandshakeInitiator(key: TestKeys.a)
        var responder = HandshakeResponder(keyring: Keyring(TestKeys.a))
        let reply = try #require(try responder.receive(initiator.hello).messageToSend)
        let step = try initiator.receive(reply)
        var initiatorChannel = try #require(step.channel)
        let confirm = try #require(step.messageToSend)
        let early = try initiatorChannel.seal(Array("first protocol frame".utf8))
        var responderChannel = try #require(try responder.receive(confirm).channel)
        #expect(try responderChannel.open(early) == Array("first protocol frame".utf8))
    }

    @Test("during a rotation a responder accepts a key that is second in its keyring, and reports which key")
    func rotation() throws {
        let keyring = try Keyring([TestKeys.b, TestKeys.a])
        var link = try runHandshake(key: TestKeys.a, keyring: keyring)
        #expect(link.responder.keyID == TestKeys.a.id)
        #expect(try link.responder.open(link.initiator.seal([1, 2, 3])) == [1, 2, 3])
        // And a node whose keyring already puts the new key first is accepted by one that holds it second.
        var newLink = try runHandshake(key: try Keyring([TestKeys.b, TestKeys.a]).primary, keyring: try Keyring([TestKeys.a, TestKeys.b]))
        #expect(newLink.responder.keyID == TestKeys.b.id)
        #expect(try newLink.initiator.open(newLink.responder.seal([4])) == [4])
    }

    @Test("an initiator offering key A is refused by a responder holding only key B, naming A's id")
    func unknownKey() throws {
        let initiator = HandshakeInitiator(key: TestKeys.a)
        var responder = HandshakeResponder(keyring: Keyring(TestKeys.b))
        #expect(throws: HandshakeError.unknownKey(TestKeys.a.id)) { try responder.receive(initiator.hello) }
        #expect(responder.isFinished)
        #expect(HandshakeError.unknownKey(TestKeys.a.id).description.contains(TestKeys.a.id.description))
    }

    @Test("a responder whose key matches the HELLO's key id but not the initiator's key fails its proof")
    func forgedKeyID() throws {
        // An attacker rewrites the key id to one a responder holding other key material accepts.
        var initiator = HandshakeInitiator(key: TestKeys.a)
        var impostor = HandshakeResponder(keyring: Keyring(TestKeys.b))
        var hello = initiator.hello
        hello.replaceSubrange(2..<10, with: TestKeys.b.id.bytes)
        let reply = try #require(try impostor.receive(hello).messageToSend)
        #expect(throws: HandshakeError.responderFailedProof) { try initiator.receive(reply) }
        #expect(initiator.isFinished)
    }

    @Test("a responder that echoes the key id without the key, proving with made-up bytes, fails its proof")
    func impostorWithoutKey() throws {
        var initiator = HandshakeInitiator(key: TestKeys.a)
        let impostorKey = SeededKeySource(seed: 9).makeEphemeralKey()
        let reply = [0xA1, 0x01] + Array(impostorKey.publicKey.rawRepresentation) + [UInt8](repeating: 0x42, count: 32)
        #expect(throws: HandshakeError.responderFailedProof) { try initiator.receive(reply) }
    }

    @Test("any bit flipped in a REPLY, in the public key or the proof, fails the responder's proof")
    func tamperedReply() throws {
        let honest = try runHandshake(initiatorSource: SeededKeySource(seed: 1), responderSource: SeededKeySource(seed: 2))
        for index in HandshakeFormat.headerSize..<HandshakeFormat.replySize {
            for bit in 0..<8 {
                var initiator = HandshakeInitiator(key: TestKeys.a, keySource: SeededKeySource(seed: 1))
                #expect(throws: HandshakeError.responderFailedProof) { try initiator.receive(honest.reply.flippingBit(bit, at: index)) }
            }
        }
    }

    @Test("a HELLO whose public key was altered in flight leads the initiator to reject the REPLY")
    func tamperedHello() throws {
        var initiator = HandshakeInitiator(key: TestKeys.a)
        var responder = HandshakeResponder(keyring: Keyring(TestKeys.a))
        let reply = try #require(try responder.receive(initiator.hello.flippingBit(0, at: 20)).messageToSend)
        #expect(throws: HandshakeError.responderFailedProof) { try initiator.receive(reply) }
    }

    @Test("any bit flipped in a CONFIRM's proof fails the initiator's proof")
    func tamperedConfirm() throws {
        let honest = try runHandshake(initiatorSource: SeededKeySource(seed: 1), responderSource: SeededKeySource(seed: 2))
        for index in HandshakeFormat.headerSize..<HandshakeFormat.confirmSize {
            for bit in 0..<8 {
                var responder = HandshakeResponder(keyring: Keyring(TestKeys.a), keySource: SeededKeySource(seed: 2))
                #expect(try responder.receive(honest.hello).messageToSend == honest.reply)
                #expect(throws: HandshakeError.initiatorFailedProof) { try responder.receive(honest.confirm.flippingBit(bit, at: index)) }
                #expect(responder.isFinished)
            }
        }
    }

    @Test("a CONFIRM recorded from another handshake with the same key is refused")
    func replayedConfirm() throws {
        let earlier = try runHandshake()
        let initiator = HandshakeInitiator(key: TestKeys.a)
        var responder = HandshakeResponder(keyring: Keyring(TestKeys.a))
        _ = try responder.receive(initiator.hello)
        #expect(throws: HandshakeError.initiatorFailedProof) { try responder.receive(earlier.confirm) }
    }

    @Test("a REPLY recorded from another handshake with the same key is refused")
    func replayedReply() throws {
        let earlier = try runHandshake()
        var initiator = HandshakeInitiator(key: TestKeys.a)
        #expect(throws: HandshakeError.responderFailedProof) { try initiator.receive(earlier.reply) }
    }

    @Test("the same ephemeral keys give byte-identical messages and frames; other keys give other bytes")
    func deterministic() throws {
        func run(_ initiatorSeed: UInt8, _ responderSeed: UInt8) throws -> [[UInt8]] {
            var link = try runHandshake(
                initiatorSource: SeededKeySource(seed: initiatorSeed), responderSource: SeededKeySource(seed: responderSeed))
            return [link.hello, link.reply, link.confirm, try link.initiator.seal([7, 7, 7]), try link.responder.seal([8])]
        }
        let first = try run(1, 2)
        #expect(try run(1, 2) == first)
        let other = try run(1, 3)
        #expect(other[0] == first[0])
        for index in 1..<first.count { #expect(other[index] != first[index]) }
    }

    @Test("system randomness gives a fresh ephemeral key, and so fresh messages, on every handshake")
    func freshEphemerals() throws {
        let hellos = (0..<20).map { _ in HandshakeInitiator(key: TestKeys.a).hello }
        #expect(Set(hellos).count == hellos.count)
    }

    @Test("a failed or finished handshake reads no more messages")
    func finishedRefusesMore() throws {
        let honest = try runHandshake(initiatorSource: SeededKeySource(seed: 1), responderSource: SeededKeySource(seed: 2))
        var initiator = HandshakeInitiator(key: TestKeys.a, keySource: SeededKeySource(seed: 1))
        #expect(!initiator.isFinished)
        _ = try initiator.receive(honest.reply)
        #expect(initiator.isFinished)
        #expect(throws: HandshakeError.alreadyFinished) { try initiator.receive(honest.reply) }

        var responder = HandshakeResponder(keyring: Keyring(TestKeys.a), keySource: SeededKeySource(seed: 2))
        _ = try responder.receive(honest.hello)
        #expect(!responder.isFinished)
        _ = try responder.receive(honest.confirm)
        #expect(responder.isFinished)
        #expect(throws: HandshakeError.alreadyFinished) { try responder.receive(honest.confirm) }

        var refused = HandshakeResponder(keyring: Keyring(TestKeys.b))
        #expect(throws: HandshakeError.unknownKey(TestKeys.a.id)) { try refused.receive(honest.hello) }
        var withKey = honest.hello
        withKey.replaceSubrange(2..<10, with: TestKeys.b.id.bytes)
        #expect(throws: HandshakeError.alreadyFinished) { try refused.receive(withKey) }
    }
}
