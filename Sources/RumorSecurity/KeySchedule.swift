@preconcurrency import Crypto

/// The four keys one handshake derives, each 32 bytes. Two prove key possession, one per role, so a proof can
/// never be reflected to its sender; two seal traffic, one per direction, so no nonce is ever used under one key
/// by both sides.
struct SessionKeys: Sendable {
    let responderAuth: SymmetricKey
    let initiatorAuth: SymmetricKey
    let initiatorToResponder: SymmetricKey
    let responderToInitiator: SymmetricKey
}

/// How a handshake turns an X25519 agreement and the cluster key into session keys:
///
///     dh   = X25519(own ephemeral private, peer ephemeral public)
///     prk  = HKDF-Extract(salt: cluster key, ikm: dh)
///     okm  = HKDF-Expand(prk, info: "rumor v1" || SHA256(HELLO || REPLY without its MAC), 128 bytes)
///          = responderAuth || initiatorAuth || initiatorToResponder || responderToInitiator
///
/// The ephemeral agreement gives forward secrecy: a cluster key stolen later does not open recorded links. The
/// cluster key as salt means no one without it derives the same keys. Hashing the transcript into the info binds
/// the keys to every byte exchanged (tags, versions, key id, both public keys).
enum KeySchedule {
    static let keySize = 32
    static let infoLabel = Array("rumor v1".utf8)

    /// X25519 of `privateKey` and the peer's public key bytes.
    static func sharedSecret(
        _ privateKey: Curve25519.KeyAgreement.PrivateKey,
        peerPublicKey bytes: ArraySlice<UInt8>
    ) throws(HandshakeError) -> SymmetricKey {
        let secret: SharedSecret
        do {
            let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: bytes)
            secret = try privateKey.sharedSecretFromKeyAgreement(with: peer)
        } catch {
            throw .malformedMessage("ephemeral public key refused: \(error)")
        }
        // swift-crypto does not refuse a low-order public key, which forces an all-zero secret and so takes the
        // agreement's contribution (forward secrecy) out of the keys. No honest peer sends one.
        let isZero = secret.withUnsafeBytes { $0.reduce(0, |) == 0 }
        guard !isZero else { throw .malformedMessage("ephemeral public key is a low-order point") }
        return SymmetricKey(data: secret)
    }

    static func derive(clusterKey: ClusterKey, sharedSecret: SymmetricKey, transcriptHash: SHA256.Digest) -> SessionKeys {
        let prk = HKDF<SHA256>.extract(inputKeyMaterial: sharedSecret, salt: clusterKey.bytes)
        let okm = HKDF<SHA256>.expand(pseudoRandomKey: prk, info: infoLabel + Array(transcriptHash), outputByteCount: 4 * keySize)
        return okm.withUnsafeBytes { bytes in
            func key(_ index: Int) -> SymmetricKey {
                SymmetricKey(data: UnsafeRawBufferPointer(rebasing: bytes[index * keySize..<(index + 1) * keySize]))
            }
            return SessionKeys(responderAuth: key(0), initiatorAuth: key(1), initiatorToResponder: key(2), responderToInitiator: key(3))
        }
    }

    static func transcriptHash(_ parts: [UInt8]...) -> SHA256.Digest {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return hasher.finalize()
    }

    /// A proof of key possession: HMAC-SHA256 of a transcript hash under an auth key.
    static func proof(key: SymmetricKey, transcriptHash: SHA256.Digest) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(transcriptHash), using: key))
    }

    /// Checks a received proof in constant time.
    static func verify(proof: ArraySlice<UInt8>, key: SymmetricKey, transcriptHash: SHA256.Digest) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(Array(proof), authenticating: Array(transcriptHash), using: key)
    }
}
