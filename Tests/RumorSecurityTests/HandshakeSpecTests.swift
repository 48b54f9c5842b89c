@preconcurrency import Crypto
import Testing
@testable import RumorSecurity

/// The handshake re-derived here from the primitives, step by step as the format documents it, so that the
/// implementation cannot drift from its specification; and recorded bytes, so that the wire format cannot
/// change by accident.
@Suite("Handshake: specification")
struct HandshakeSpecTests {
    @Test("messages, proofs and traffic keys follow the documented schedule")
    func followsSchedule() throws {
        let initiatorKey = SeededKeySource(seed: 1).makeEphemeralKey()
        let responderKey = SeededKeySource(seed: 2).makeEphemeralKey()
        var link = try runHandshake(initiatorSource: SeededKeySource(seed: 1), responderSource: SeededKeySource(seed: 2))

        // HELLO = A0 01 || key id || initiator public key; REPLY begins A1 01 || responder public key.
        #expect(link.hello == [0xA0, 0x01] + TestKeys.a.id.bytes + Array(initiatorKey.publicKey.rawRepresentation))
        let replyPrefix = [0xA1, 0x01] + Array(responderKey.publicKey.rawRepresentation)
        #expect(Array(link.reply.prefix(34)) == replyPrefix)

        // prk = HKDF-Extract(salt: cluster key, ikm: X25519); okm = HKDF-Expand(prk, "rumor v1" || SHA256(transcript)).
        let dh = try initiatorKey.sharedSecretFromKeyAgreement(with: responderKey.publicKey)
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: dh), salt: [UInt8](hex: TestKeys.a.text))
        let transcript = Array(SHA256.hash(data: link.hello + replyPrefix))
        let okm = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: Array("rumor v1".utf8) + transcript, outputByteCount: 128)
        let okmBytes = okm.withUnsafeBytes { Array($0) }
        let responderAuth = SymmetricKey(data: okmBytes[0..<32])
        let initiatorAuth = SymmetricKey(data: okmBytes[32..<64])
        let initiatorToResponder = SymmetricKey(data: okmBytes[64..<96])
        let responderToInitiator = SymmetricKey(data: okmBytes[96..<128])

        // The REPLY's proof covers HELLO and the REPLY before its proof; the CONFIRM's covers the whole REPLY.
        #expect(Array(link.reply.suffix(32)) == Array(HMAC<SHA256>.authenticationCode(for: transcript, using: responderAuth)))
        let confirmTranscript = Array(SHA256.hash(data: link.hello + link.reply))
        #expect(link.confirm == [0xA2, 0x01] + Array(HMAC<SHA256>.authenticationCode(for: confirmTranscript, using: initiatorAuth)))

        // Frames: ChaCha20-Poly1305, nonce 0^4 || counter, associated data naming the direction.
        for counter: UInt8 in 0..<3 {
            let nonce = try ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 11) + [counter])
            let outbound = try link.initiator.seal([counter])
            let outboundBox = try ChaChaPoly.SealedBox(nonce: nonce, ciphertext: outbound.dropLast(16), tag: outbound.suffix(16))
            let outboundLabel = Array("rumor v1 initiator to responder".utf8)
            #expect(Array(try ChaChaPoly.open(outboundBox, using: initiatorToResponder, authenticating: outboundLabel)) == [counter])
            let inbound = try link.responder.seal([counter])
            let inboundBox = try ChaChaPoly.SealedBox(nonce: nonce, ciphertext: inbound.dropLast(16), tag: inbound.suffix(16))
            let inboundLabel = Array("rumor v1 responder to initiator".utf8)
            #expect(Array(try ChaChaPoly.open(inboundBox, using: responderToInitiator, authenticating: inboundLabel)) == [counter])
        }
    }

    @Test("fixed keys give the recorded bytes: a change here is a wire-format change and needs a new version")
    func recordedVectors() throws {
        var link = try runHandshake(initiatorSource: SeededKeySource(seed: 1), responderSource: SeededKeySource(seed: 2))
        #expect(TestKeys.a.id.description == "7a7abe9287f287f9")
        #expect(link.hello.hex == "a0017a7abe9287f287f9" + "1fbecfcede5636a406600be3ab8b8dd8c087f8850910ef08be5e64ba5ce5f503")
        #expect(link.reply.hex == "a101" + "ecd1cb8bb5a2d0bed303b753a421ffdbf206b2addd48c76227834f07c9fb3d00"
                + "674d7b1a81262efa98bb8819bd040dc1e00340330444252a3ad9bd4153ec24e4")
        #expect(link.confirm.hex == "a201" + "42afafbbcdd823214e7c389345c57ea5fdab7cb8965dc926340a71a8b3ea3786")
        let frame = try link.initiator.seal(Array("rumor".utf8))
        #expect(frame.hex == "f165f5e8fd" + "7edf25174ef9496ba2758147e5204658")
    }
}
