/// Constants of the frame format. A frame is a 4-byte big-endian body length, then the body:
/// protocol version (1 byte), message type (1 byte), then the message's fields.
public enum WireFormat {
    /// 2: NEIGHBOR and DISCONNECT carry an optional handoff peer (active-view rotation).
    public static let protocolVersion: UInt8 = 2
    public static let lengthPrefixSize = 4
    /// Version and type bytes.
    public static let bodyHeaderSize = 2
    /// The default limit on a frame body. Large enough for a 256 KiB payload with room to spare, small
    /// enough that a hostile length prefix cannot make a node allocate much.
    public static let defaultMaximumFrameSize = 1 << 20
    /// No limit can go below this: a handshake with the longest id and host must fit.
    public static let minimumFrameSizeLimit = 1024

    /// Reads a length prefix from the first four bytes of `bytes`.
    @inlinable
    public static func bodyLength(prefix bytes: UnsafeRawBufferPointer) -> Int {
        precondition(bytes.count >= lengthPrefixSize)
        // Byte by byte: the prefix may sit at any alignment in a read buffer.
        return Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
    }
}

/// What was wrong with a frame, and where.
public enum WireError: Error, Hashable, Sendable, CustomStringConvertible {
    case emptyBody
    case frameTooLarge(length: Int, limit: Int)
    case unsupportedVersion(received: UInt8, supported: UInt8)
    case unknownMessageType(UInt8)
    case truncated(field: String, needed: Int, available: Int)
    case invalidUTF8(field: String)
    case invalidNodeID(field: String)
    case invalidValue(field: String, detail: String)
    case trailingBytes(count: Int, after: MessageType)

    public var description: String {
        switch self {
        case .emptyBody:
            "frame body is shorter than its 2-byte header"
        case .frameTooLarge(let length, let limit):
            "frame of \(length) bytes exceeds the limit of \(limit) bytes"
        case .unsupportedVersion(let received, let supported):
            "protocol version \(received) is not supported (this node speaks version \(supported))"
        case .unknownMessageType(let type):
            "unknown message type 0x\(String(type, radix: 16))"
        case .truncated(let field, let needed, let available):
            "truncated at \(field): needed \(needed) bytes, \(available) left"
        case .invalidUTF8(let field):
            "\(field) is not valid UTF-8"
        case .invalidNodeID(let field):
            "\(field) is not a node id (1 to \(NodeID.maximumLength) bytes)"
        case .invalidValue(let field, let detail):
            "\(field): \(detail)"
        case .trailingBytes(let count, let type):
            "\(count) unexpected bytes after a complete \(type) message"
        }
    }
}
