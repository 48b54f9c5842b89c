@preconcurrency import Crypto

/// Where a handshake gets its ephemeral X25519 private key: the one input that makes a handshake random. The
/// default is the system's generator; tests inject fixed keys to get byte-identical messages.
///
/// A key must never serve two handshakes: if both sides of two links reused theirs, the links would share
/// traffic keys and nonces. Fixed sources belong in tests only.
public protocol EphemeralKeySource: Sendable {
    func makeEphemeralKey() -> Curve25519.KeyAgreement.PrivateKey
}

/// Fresh keys from the system's cryptographic random number generator.
public struct SystemEphemeralKeySource: EphemeralKeySource {
    public init() {}

    public func makeEphemeralKey() -> Curve25519.KeyAgreement.PrivateKey {
        Curve25519.KeyAgreement.PrivateKey()
    }
}
