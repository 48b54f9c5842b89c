/// Constants of the frame format. A frame is a 4-byte big-endian body length, then the body:
/// protocol version (1 byte), message type (1 byte), then the message's fields.
public enum WireFormat {
    /// The versions this build speaks. Version history (docs/protocol.md, "Versions"):
    /// 2: NEIGHBOR and DISCONNECT carry an optional handoff peer (active-view rotation).
    /// 3: the handshake is followed by a VERSIONS frame; a link runs at the highest version both speak.
    /// 4: round-trip probes (PING, PONG) replace KEEPALIVE and measure each link's round-trip time.
    /// 5: sampling walks (SAMPLEWALK, SAMPLEREPLY) for uniform, validated peer samples.
    /// 6: the cluster directory: TOPICGOSSIP carries member entries and failure reports on the directory's
    ///    internal topic; DIRECTORY_SUMMARY, _BUCKETS and _ENTRIES reconcile directories.
    public static let versions: ClosedRange<UInt8> = 3...6
    /// The first version that negotiates: a handshake naming an older one is refused at once, since such a
    /// peer would refuse every version but its own.
    public static let firstNegotiatingVersion: UInt8 = 3
    public static let lengthPrefixSize = 4
    /// Version and type bytes.
    public static let bodyHeaderSize = 2
    /// The default limit on a frame body. Large enough for a 256 KiB payload with room to spare, small
    /// enough that a hostile length prefix cannot make a node allocate much.
    public static let defaultMaximumFrameSize = 1 << 20
    /// No limit can go below this: a handshake with the longest id and host must fit.
    public static let minimumFrameSizeLimit = 1024

    /// `3` or `3-4` as written on a command line or in a topology file; nil for anything else (a range must
    /// ascend). Whether this build speaks them is the caller's check.
    public static func parseVersions(_ text: String) -> ClosedRange<UInt8>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return nil }
        let numbers = parts.compactMap { UInt8($0) }
        guard numbers.count == parts.count, let low = numbers.first, let high = numbers.last, low <= high else { return nil }
        return low...high
    }

    /// Whether this build speaks every version in `range`: the one check behind `--wire-versions`,
    /// `RumorConfiguration.wireVersions` and a topology file's `wire-versions`.
    public static func speaks(_ range: ClosedRange<UInt8>) -> Bool { range.clamped(to: versions) == range }

    /// `version 3` or `versions 3 to 4`, for logs and rejections.
    public static func describe(_ versions: ClosedRange<UInt8>) -> String {
        versions.count == 1 ? "version \(versions.lowerBound)" : "versions \(versions.lowerBound) to \(versions.upperBound)"
    }

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
    case unsupportedVersion(received: UInt8, supported: ClosedRange<UInt8>)
    case unknownMessageType(UInt8)
    /// A known type in a frame of a version that does not have it.
    case typeNotInVersion(MessageType, version: UInt8)
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
            "protocol version \(received) is not supported (this node speaks \(WireFormat.describe(supported)))"
        case .unknownMessageType(let type):
            "unknown message type 0x\(String(type, radix: 16))"
        case .typeNotInVersion(let type, let version):
            "\(type) does not exist in protocol version \(version) (it came with version \(type.introducedIn))"
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
