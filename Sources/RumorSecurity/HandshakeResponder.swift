@preconcurrency import Crypto

/// The handshake of the side that accepted the connection. It takes the HELLO, finds the named key in its
/// keyring and sends a REPLY proving it holds that key; it is established only once the CONFIRM proves the
/// initiator holds it too. Until then it has sent nothing but its ephemeral public key and a proof.
///
/// Pure: no I/O; its only randomness is the ephemeral key from its `EphemeralKeySource`.
public struct HandshakeResponder: Sendable {
    private enum State {
        case awaitingHello
        case awaitingConfirm(keys: SessionKeys, keyID: ClusterKey.ID, confirmTranscript: SHA256.Digest)
        case finished
    }

    private let keyring: Keyring
    private let keySource: any EphemeralKeySource
    private var state = State.awaitingHello

    /// A handshake that accepts any key of `keyring`.
    public init(keyring: Keyring, keySource: some EphemeralKeySource = SystemEphemeralKeySource()) {
        self.keyring = keyring
        self.keySource = keySource
    }

    /// Whether the handshake is over, established or failed: no more handshake messages are read.
    public var isFinished: Bool {
        if case .finished = state { true } else { false }
    }

    /// Takes the HELLO (returns `.send` with the REPLY), then the CONFIRM (returns `.established`), or throws why
    /// the link must close.
    public mutating func receive(_ body: some Collection<UInt8>) throws(HandshakeError) -> HandshakeStep {
        let current = state
        // Fail closed: any error below leaves the handshake finished; only success moves it on.
        state = .finished
        switch current {
        case .awaitingHello:
            let (reply, next) = try answer(hello: body)
            state = next
            return .send(reply)
        case .awaitingConfirm(let keys, let keyID, let confirmTranscript):
            let confirm = try HandshakeMessage.validated(body, as: .confirm)
            let proof = confirm[HandshakeFormat.headerSize...]
            guard KeySchedule.verify(proof: proof, key: keys.initiatorAuth, transcriptHash: confirmTranscript) else {
                throw .initiatorFailedProof
            }
            return .established(SealedChannel(keys: keys, isInitiator: false, keyID: keyID), send: nil)
        case .finished:
            throw .alreadyFinished
        }
    }

    private func answer(hello body: some Collection<UInt8>) throws(HandshakeError) -> (reply: [UInt8], next: State) {
        let hello = try HandshakeMessage.validated(body, as: .hello)
        let keyStart = HandshakeFormat.headerSize + ClusterKey.ID.byteCount
        let keyID = ClusterKey.ID(bytes: hello[HandshakeFormat.headerSize..<keyStart])!
        guard let clusterKey = keyring.key(withID: keyID) else { throw .unknownKey(keyID) }

        let ephemeral = keySource.makeEphemeralKey()
        let secret = try KeySchedule.sharedSecret(ephemeral, peerPublicKey: hello[keyStart...])
        let replyPrefix = HandshakeMessage.header(.reply) + Array(ephemeral.publicKey.rawRepresentation)
        let transcript = KeySchedule.transcriptHash(hello, replyPrefix)
        let keys = KeySchedule.derive(clusterKey: clusterKey, sharedSecret: secret, transcriptHash: transcript)
        let reply = replyPrefix + KeySchedule.proof(key: keys.responderAuth, transcriptHash: transcript)
        let next = State.awaitingConfirm(keys: keys, keyID: keyID, confirmTranscript: KeySchedule.transcriptHash(hello, reply))
        return (reply, next)
    }
}
