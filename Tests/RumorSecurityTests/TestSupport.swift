@preconcurrency import Crypto
@testable import RumorSecurity

/// Ephemeral keys fixed by a seed, for byte-identical handshakes. Test-only: a real node must never reuse one.
struct SeededKeySource: EphemeralKeySource {
    let seed: UInt8

    func makeEphemeralKey() -> Curve25519.KeyAgreement.PrivateKey {
        try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: Array(SHA256.hash(data: [seed])))
    }
}

/// Fixed cluster keys, so that failures reproduce.
enum TestKeys {
    static let a = ClusterKey(bytes: (0..<32).map { UInt8($0) })!
    static let b = ClusterKey(bytes: (0..<32).map { UInt8(0xFF - $0) })!
    static let c = ClusterKey(bytes: [UInt8](repeating: 0x5A, count: 32))!
}

/// The three messages and both channels of one handshake.
struct CompletedHandshake {
    var hello: [UInt8]
    var reply: [UInt8]
    var confirm: [UInt8]
    var initiator: SealedChannel
    var responder: SealedChannel
}

/// Runs a whole handshake between a fresh initiator and responder, in memory.
func runHandshake(
    key: ClusterKey = TestKeys.a,
    keyring: Keyring = Keyring(TestKeys.a),
    initiatorSource: some EphemeralKeySource = SystemEphemeralKeySource(),
    responderSource: some EphemeralKeySource = SystemEphemeralKeySource()
) throws -> CompletedHandshake {
    var initiator = HandshakeInitiator(key: key, keySource: initiatorSource)
    var responder = HandshakeResponder(keyring: keyring, keySource: responderSource)
    let hello = initiator.hello
    guard case .send(let reply) = try responder.receive(hello) else { throw TestFailure("responder did not reply") }
    guard case .established(let initiatorChannel, let confirm?) = try initiator.receive(reply) else {
        throw TestFailure("initiator not established with a CONFIRM")
    }
    guard case .established(let responderChannel, nil) = try responder.receive(confirm) else {
        throw TestFailure("responder not established")
    }
    return CompletedHandshake(hello: hello, reply: reply, confirm: confirm, initiator: initiatorChannel, responder: responderChannel)
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array where Element == UInt8 {
    /// A copy with one bit of `index` flipped.
    func flippingBit(_ bit: Int, at index: Int) -> [UInt8] {
        var copy = self
        copy[index] ^= 1 << UInt8(bit)
        return copy
    }

    init(hex: String) {
        let digits = Array(hex.utf8)
        self = stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    var hex: String {
        map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
