/// Why a handshake failed. Every case closes the link; its description is the reason to log.
public enum HandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The message has the right tag and version but not the right shape (size, public key).
    case malformedMessage(String)
    /// A message other than the one due; `found` is its first byte.
    case unexpectedMessage(expected: HandshakeMessageKind, found: UInt8)
    /// A handshake message of another format version.
    case unsupportedVersion(received: UInt8, supported: UInt8)
    /// Responder: the HELLO names a key this node's keyring does not hold.
    case unknownKey(ClusterKey.ID)
    /// Initiator: the REPLY's proof does not verify: the responder holds another key with the same id (a forged
    /// id), or the messages were tampered with.
    case responderFailedProof
    /// Responder: the CONFIRM's proof does not verify: the initiator does not hold the key it named, or the
    /// messages were tampered with.
    case initiatorFailedProof
    /// A message after the handshake had already succeeded or failed: the caller should have stopped feeding it.
    case alreadyFinished

    public var description: String {
        switch self {
        case .malformedMessage(let detail):
            "malformed handshake message: \(detail)"
        case .unexpectedMessage(let expected, let found):
            "expected a handshake \(expected), found \(Self.describe(firstByte: found))"
        case .unsupportedVersion(let received, let supported):
            "handshake format version \(received) is not supported (this node speaks version \(supported))"
        case .unknownKey(let id):
            "the peer uses cluster key \(id), which is not in this node's keyring"
        case .responderFailedProof:
            "the responder could not prove it holds the cluster key (a different key or tampering)"
        case .initiatorFailedProof:
            "the initiator could not prove it holds the cluster key (a different key or tampering)"
        case .alreadyFinished:
            "a handshake message arrived after the handshake had finished"
        }
    }

    private static func describe(firstByte: UInt8) -> String {
        if let kind = HandshakeMessageKind(rawValue: firstByte) { return "a \(kind)" }
        let hex = "0x" + Hex.encode([firstByte])
        // Protocol frames begin with their version byte, small numbers: a peer without a cluster key.
        if (1...0x0F).contains(firstByte) {
            return "a frame beginning \(hex), like a plaintext protocol frame: does the peer run without a cluster key?"
        }
        return "a frame beginning \(hex)"
    }
}
