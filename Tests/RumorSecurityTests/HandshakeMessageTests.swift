import Testing
@testable import RumorSecurity

/// What each message looks like on the wire, and how every malformed one is refused.
@Suite("Handshake: message format")
struct HandshakeMessageTests {
    /// One honest handshake, replayed into fresh machines by fixed ephemeral keys.
    let honest: CompletedHandshake

    init() throws {
        honest = try runHandshake(initiatorSource: SeededKeySource(seed: 1), responderSource: SeededKeySource(seed: 2))
    }

    private func freshInitiator() -> HandshakeInitiator {
        HandshakeInitiator(key: TestKeys.a, keySource: SeededKeySource(seed: 1))
    }

    private func freshResponder() -> HandshakeResponder {
        HandshakeResponder(keyring: Keyring(TestKeys.a), keySource: SeededKeySource(seed: 2))
    }

    /// A responder that has taken the honest HELLO and awaits the CONFIRM.
    private func responderAwaitingConfirm() throws -> HandshakeResponder {
        var responder = freshResponder()
        _ = try responder.receive(honest.hello)
        return responder
    }

    private static func isMalformed(_ error: HandshakeError?) -> Bool {
        if case .malformedMessage = error { true } else { false }
    }

    @Test("messages have their documented sizes and tags, all within the handshake frame limit")
    func sizesAndTags() {
        #expect(honest.hello.count == HandshakeFormat.helloSize && HandshakeFormat.helloSize == 42)
        #expect(honest.reply.count == HandshakeFormat.replySize && HandshakeFormat.replySize == 66)
        #expect(honest.confirm.count == HandshakeFormat.confirmSize && HandshakeFormat.confirmSize == 34)
        #expect([honest.hello[0], honest.reply[0], honest.confirm[0]] == [0xA0, 0xA1, 0xA2])
        #expect([honest.hello[1], honest.reply[1], honest.confirm[1]] == [1, 1, 1])
        #expect(Array(honest.hello[2..<10]) == TestKeys.a.id.bytes)
        #expect([HandshakeFormat.helloSize, HandshakeFormat.replySize, HandshakeFormat.confirmSize].max()! <= HandshakeFormat.maximumBodySize)
    }

    @Test("a handshake message can never be taken for a protocol frame, which begins with its version byte")
    func distinctFromProtocolFrames() {
        for kind in HandshakeMessageKind.allCases { #expect(HandshakeFormat.isHandshakeMessage(firstByte: kind.rawValue)) }
        for version: UInt8 in 0...0x9F { #expect(!HandshakeFormat.isHandshakeMessage(firstByte: version)) }
    }

    @Test("every truncation of a HELLO is refused as malformed")
    func truncatedHello() {
        for length in 0..<HandshakeFormat.helloSize {
            var responder = freshResponder()
            let error = #expect(throws: HandshakeError.self) { try responder.receive(honest.hello.prefix(length)) }
            #expect(Self.isMalformed(error), "length \(length): \(String(describing: error))")
            #expect(responder.isFinished)
        }
    }

    @Test("every truncation of a REPLY is refused as malformed")
    func truncatedReply() {
        for length in 0..<HandshakeFormat.replySize {
            var initiator = freshInitiator()
            let error = #expect(throws: HandshakeError.self) { try initiator.receive(honest.reply.prefix(length)) }
            #expect(Self.isMalformed(error), "length \(length): \(String(describing: error))")
        }
    }

    @Test("every truncation of a CONFIRM is refused as malformed")
    func truncatedConfirm() throws {
        for length in 0..<HandshakeFormat.confirmSize {
            var responder = try responderAwaitingConfirm()
            let error = #expect(throws: HandshakeError.self) { try responder.receive(honest.confirm.prefix(length)) }
            #expect(Self.isMalformed(error), "length \(length): \(String(describing: error))")
        }
    }

    @Test("a byte after a complete message is refused as malformed, naming both sizes")
    func trailingByte() throws {
        var responder = freshResponder()
        #expect(throws: HandshakeError.malformedMessage("HELLO of 43 bytes, expected 42")) { try responder.receive(honest.hello + [0]) }
        var initiator = freshInitiator()
        #expect(throws: HandshakeError.malformedMessage("REPLY of 67 bytes, expected 66")) { try initiator.receive(honest.reply + [0]) }
        var confirming = try responderAwaitingConfirm()
        #expect(throws: HandshakeError.malformedMessage("CONFIRM of 35 bytes, expected 34")) { try confirming.receive(honest.confirm + [0]) }
    }

    @Test("a message other than the one due is refused, naming what came")
    func wrongTag() throws {
        var responder = freshResponder()
        #expect(throws: HandshakeError.unexpectedMessage(expected: .hello, found: 0xA1)) { try responder.receive(honest.reply) }
        var initiator = freshInitiator()
        #expect(throws: HandshakeError.unexpectedMessage(expected: .reply, found: 0xA0)) { try initiator.receive(honest.hello) }
        var confirming = try responderAwaitingConfirm()
        #expect(throws: HandshakeError.unexpectedMessage(expected: .confirm, found: 0xA0)) { try confirming.receive(honest.hello) }
        #expect(HandshakeError.unexpectedMessage(expected: .confirm, found: 0xA0).description == "expected a handshake CONFIRM, found a HELLO")
    }

    @Test("a plaintext protocol frame where a HELLO is due is refused, suggesting the peer has no cluster key")
    func plaintextPeer() {
        var responder = freshResponder()
        // A protocol frame body: version 2, then a type byte and fields.
        let error = #expect(throws: HandshakeError.self) { try responder.receive([2, 0x01, 2, 1, 0x61]) }
        #expect(error == .unexpectedMessage(expected: .hello, found: 2))
        #expect(error?.description.contains("without a cluster key") == true)
    }

    @Test("a message of another handshake version is refused as unsupported, whatever its length")
    func otherVersion() throws {
        var hello = honest.hello
        hello[1] = 2
        var responder = freshResponder()
        #expect(throws: HandshakeError.unsupportedVersion(received: 2, supported: 1)) { try responder.receive(hello) }
        // A later version's longer HELLO is still named as a version problem.
        var longer = freshResponder()
        #expect(throws: HandshakeError.unsupportedVersion(received: 2, supported: 1)) { try longer.receive(hello + [UInt8](repeating: 0, count: 100)) }
        var reply = honest.reply
        reply[1] = 0
        var initiator = freshInitiator()
        #expect(throws: HandshakeError.unsupportedVersion(received: 0, supported: 1)) { try initiator.receive(reply) }
        var confirm = honest.confirm
        confirm[1] = 0xFF
        var confirming = try responderAwaitingConfirm()
        #expect(throws: HandshakeError.unsupportedVersion(received: 0xFF, supported: 1)) { try confirming.receive(confirm) }
    }

    @Test("a message over the handshake frame limit is refused before anything else is read")
    func overLimit() {
        var responder = freshResponder()
        let huge = honest.hello + [UInt8](repeating: 0, count: HandshakeFormat.maximumBodySize)
        let error = #expect(throws: HandshakeError.self) { try responder.receive(huge) }
        #expect(Self.isMalformed(error))
        #expect(error?.description.contains("limit") == true)
    }

    @Test("an ephemeral public key of low order, which would zero the shared secret, is refused as malformed")
    func lowOrderPublicKey() throws {
        let lowOrder: [[UInt8]] = [[UInt8](repeating: 0, count: 32), [1] + [UInt8](repeating: 0, count: 31)]
        for point in lowOrder {
            var responder = freshResponder()
            let hello = Array(honest.hello.prefix(10)) + point
            let error = #expect(throws: HandshakeError.self) { try responder.receive(hello) }
            #expect(error?.description.contains("low-order") == true)

            var initiator = freshInitiator()
            let reply = Array(honest.reply.prefix(2)) + point + Array(honest.reply.suffix(32))
            let replyError = #expect(throws: HandshakeError.self) { try initiator.receive(reply) }
            #expect(replyError?.description.contains("low-order") == true)
        }
    }

    @Test("handshake messages arrive as any collection of bytes, such as a slice of a read buffer")
    func anyCollection() throws {
        let buffer = [0xEE] + honest.hello + [0xEE]
        var responder = freshResponder()
        #expect(try responder.receive(buffer[1...HandshakeFormat.helloSize]).messageToSend == honest.reply)
    }

    @Test("random corruptions of each message give a typed error or, untouched, success; never a trap")
    func randomCorruptions() throws {
        var random = SplitMix64(seed: 0x5EC)
        for _ in 0..<300 {
            var responder = freshResponder()
            _ = try? responder.receive(random.corrupt(honest.hello))
            var initiator = freshInitiator()
            _ = try? initiator.receive(random.corrupt(honest.reply))
            var confirming = try responderAwaitingConfirm()
            let confirm = random.corrupt(honest.confirm)
            do throws(HandshakeError) {
                _ = try confirming.receive(confirm)
                #expect(confirm == honest.confirm)
            } catch {
                #expect(confirm != honest.confirm)
            }
        }
    }
}

/// A small seeded generator, so that random tests reproduce.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `bytes` with a random change: a flipped bit, a cut, an extra byte, or a replaced byte.
    mutating func corrupt(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        switch Int.random(in: 0..<4, using: &self) {
        case 0: copy[Int.random(in: 0..<copy.count, using: &self)] ^= 1 << UInt8.random(in: 0..<8, using: &self)
        case 1: copy.removeLast(Int.random(in: 1...copy.count, using: &self))
        case 2: copy.insert(UInt8.random(in: 0...255, using: &self), at: Int.random(in: 0...copy.count, using: &self))
        default: copy[Int.random(in: 0..<copy.count, using: &self)] = UInt8.random(in: 0...255, using: &self)
        }
        return copy
    }
}
