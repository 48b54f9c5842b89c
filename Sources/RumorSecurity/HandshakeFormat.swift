/// The three handshake messages, each one frame body (the caller adds the 4-byte length prefix as for any
/// frame). The first byte is a tag from 0xA0 up: a protocol frame begins with its version byte (2 today), so the
/// two can never be taken for each other. The second byte is the handshake format's own version.
///
/// ```
/// HELLO    A0 01 | key id (8) | initiator ephemeral X25519 public key (32)             42 bytes
/// REPLY    A1 01 | responder ephemeral public key (32) | HMAC(responder auth key) (32)  66 bytes
/// CONFIRM  A2 01 | HMAC(initiator auth key) (32)                                       34 bytes
/// ```
public enum HandshakeFormat {
    public static let version: UInt8 = 1
    public static let headerSize = 2
    public static let publicKeySize = 32
    public static let macSize = 32
    public static let helloSize = headerSize + ClusterKey.ID.byteCount + publicKeySize
    public static let replySize = headerSize + publicKeySize + macSize
    public static let confirmSize = headerSize + macSize
    /// The largest handshake frame body a node reads, checked against the length prefix before a link is
    /// established, so a hostile prefix costs nothing. Above every version-1 message, so that a later version's
    /// longer HELLO is still read and refused as `unsupportedVersion` rather than as a length error.
    public static let maximumBodySize = 256

    /// Whether a frame body beginning with `firstByte` is a handshake message (any version), as opposed to a
    /// plaintext protocol frame: lets a node without a cluster key tell why its peer's first frame made no sense.
    public static func isHandshakeMessage(firstByte: UInt8) -> Bool {
        HandshakeMessageKind(rawValue: firstByte) != nil
    }
}

/// The tag that opens each handshake message.
public enum HandshakeMessageKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case hello = 0xA0
    case reply = 0xA1
    case confirm = 0xA2

    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .reply: "REPLY"
        case .confirm: "CONFIRM"
        }
    }

    var size: Int {
        switch self {
        case .hello: HandshakeFormat.helloSize
        case .reply: HandshakeFormat.replySize
        case .confirm: HandshakeFormat.confirmSize
        }
    }
}

/// Encoding and strict decoding of the messages. A message decodes only at its exact size.
enum HandshakeMessage {
    static func header(_ kind: HandshakeMessageKind) -> [UInt8] {
        [kind.rawValue, HandshakeFormat.version]
    }

    static func hello(keyID: ClusterKey.ID, publicKey: [UInt8]) -> [UInt8] {
        header(.hello) + keyID.bytes + publicKey
    }

    /// The body of a `kind` message, its size and header checked. The order of the checks gives the most useful
    /// error: a stranger's frame is named as such before its length is judged, and a later version is named
    /// before its (possibly different) layout is.
    static func validated(_ body: some Collection<UInt8>, as kind: HandshakeMessageKind) throws(HandshakeError) -> [UInt8] {
        // Counted before copying: a caller that skipped the prefix check still holds no more than the limit.
        let count = body.count
        guard count <= HandshakeFormat.maximumBodySize else {
            throw .malformedMessage("a \(count)-byte handshake message exceeds the \(HandshakeFormat.maximumBodySize)-byte limit")
        }
        let bytes = Array(body)
        guard let tag = bytes.first else { throw .malformedMessage("empty \(kind)") }
        guard tag == kind.rawValue else { throw .unexpectedMessage(expected: kind, found: tag) }
        guard bytes.count >= HandshakeFormat.headerSize else { throw .malformedMessage("\(kind) ends after its tag") }
        guard bytes[1] == HandshakeFormat.version else {
            throw .unsupportedVersion(received: bytes[1], supported: HandshakeFormat.version)
        }
        guard bytes.count == kind.size else {
            throw .malformedMessage("\(kind) of \(bytes.count) bytes, expected \(kind.size)")
        }
        return bytes
    }
}
