@preconcurrency import Crypto

/// The handshake of the side that opened the connection. It sends `hello` at once, then takes the REPLY: if the
/// responder's proof verifies, it is established and sends CONFIRM. It may seal frames right behind the CONFIRM:
/// the responder reads them in order, after the CONFIRM has established its side.
///
/// Pure: no I/O; its only randomness is the ephemeral key from its `EphemeralKeySource`.
public struct HandshakeInitiator: Sendable {
    private enum State {
        case awaitingReply(ephemeral: Curve25519.KeyAgreement.PrivateKey)
        case finished
    }

    private let clusterKey: ClusterKey
    /// The HELLO: the first frame body to send.
    public let hello: [UInt8]
    private var state: State

    /// A handshake that offers `key`.
    public init(key: ClusterKey, keySource: some EphemeralKeySource = SystemEphemeralKeySource()) {
        let ephemeral = keySource.makeEphemeralKey()
        clusterKey = key
        hello = HandshakeMessage.hello(keyID: key.id, publicKey: Array(ephemeral.publicKey.rawRepresentation))
        state = .awaitingReply(ephemeral: ephemeral)
    }

    /// A handshake that offers the keyring's primary key, as every outbound link does.
    public init(keyring: Keyring, keySource: some EphemeralKeySource = SystemEphemeralKeySource()) {
        self.init(key: keyring.primary, keySource: keySource)
    }

    /// Whether the handshake is over, established or failed: no more handshake messages are read.
    public var isFinished: Bool {
        if case .finished = state { true } else { false }
    }

    /// Takes the REPLY. Returns `.established` with the CONFIRM to send, or throws why the link must close.
    public mutating func receive(_ body: some Collection<UInt8>) throws(HandshakeError) -> HandshakeStep {
        guard case .awaitingReply(let ephemeral) = state else { throw .alreadyFinished }
        // The REPLY is the only message the initiator reads: success or failure, the handshake ends here.
        state = .finished

        let reply = try HandshakeMessage.validated(body, as: .reply)
        let macStart = HandshakeFormat.headerSize + HandshakeFormat.publicKeySize
        let secret = try KeySchedule.sharedSecret(ephemeral, peerPublicKey: reply[HandshakeFormat.headerSize..<macStart])
        let transcript = KeySchedule.transcriptHash(hello, Array(reply[..<macStart]))
        let keys = KeySchedule.derive(clusterKey: clusterKey, sharedSecret: secret, transcriptHash: transcript)
        guard KeySchedule.verify(proof: reply[macStart...], key: keys.responderAuth, transcriptHash: transcript) else {
            throw .responderFailedProof
        }
        // The confirm proof covers the whole REPLY, its proof included.
        let confirmTranscript = KeySchedule.transcriptHash(hello, reply)
        let confirm = HandshakeMessage.header(.confirm) + KeySchedule.proof(key: keys.initiatorAuth, transcriptHash: confirmTranscript)
        return .established(SealedChannel(keys: keys, isInitiator: true, keyID: clusterKey.id), send: confirm)
    }
}
