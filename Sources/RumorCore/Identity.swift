/// A node's name in the overlay: 1 to `NodeID.maximumLength` bytes of UTF-8, chosen by the operator
/// (`--id`) or generated at start-up.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maximumLength = 64

    public let rawValue: String

    /// Fails with `nil` when the name is empty or longer than `maximumLength` bytes.
    public init?(_ rawValue: String) {
        let length = rawValue.utf8.count
        guard length > 0, length <= Self.maximumLength else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// A fresh random id, for nodes started without `--id`.
    public static func random<G: RandomNumberGenerator>(using generator: inout G) -> NodeID {
        let alphabet = Array("0123456789abcdef")
        let text = String((0..<12).map { _ in alphabet[Int(generator.next() % 16)] })
        return NodeID(text)!
    }
}

/// A node's life: it grows every time the node restarts, so that anything a peer still holds from the
/// node's previous life (a late DISCONNECT, an old link) can be told apart and ignored.
public typealias Epoch = UInt64

/// A host and port a node listens on. The host is an IPv4 or IPv6 literal; `localhost` is read as 127.0.0.1.
public struct PeerAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let maximumHostLength = 255

    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[V6HOST]:PORT`.
    public init(parsing text: String) throws(AddressError) {
        let trimmed = text.trimmingWhitespace()
        let host: Substring
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw .malformed(text, expected: "[V6ADDRESS]:PORT") }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .malformed(text, expected: "a ':PORT' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else { throw .malformed(text, expected: "HOST:PORT") }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            if host.contains(":") { throw .malformed(text, expected: "an IPv6 host in brackets, as [::1]:7000") }
        }
        guard !host.isEmpty else { throw .malformed(text, expected: "a host before the ':'") }
        guard host.utf8.count <= Self.maximumHostLength else { throw .malformed(text, expected: "a host of at most 255 bytes") }
        guard let port = UInt16(portText), port > 0 else { throw .badPort(text) }
        self.host = host == "localhost" ? "127.0.0.1" : String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// An address in 127.0.0.0/8 or ::1.
    public var isLoopback: Bool { host.hasPrefix("127.") || host == "::1" }

    /// 0.0.0.0 or `::`: every interface, to bind; no address a peer can dial.
    public var isUnspecified: Bool { host == "0.0.0.0" || host == "::" }

    /// An IPv4 or IPv6 literal rather than a name: what descriptors carry. Names are for seeds only, which
    /// the runtime resolves on every dial.
    public var isLiteral: Bool {
        if host.contains(":") {
            return host.utf8.allSatisfy { $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") || Self.isHexDigit($0) }
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.utf8.allSatisfy { (48...57).contains($0) } && Int(part)! <= 255
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }

    public static func < (lhs: PeerAddress, rhs: PeerAddress) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }
}

public enum AddressError: Error, Equatable, CustomStringConvertible {
    case malformed(String, expected: String)
    case badPort(String)

    public var description: String {
        switch self {
        case .malformed(let text, let expected): "'\(text)' is not an address: expected \(expected)"
        case .badPort(let text): "'\(text)' has no valid port: expected a number from 1 to 65535"
        }
    }
}

/// Who a peer is: its id and the address it listens on.
public struct PeerDescriptor: Hashable, Sendable, CustomStringConvertible {
    public var id: NodeID
    public var address: PeerAddress

    public init(id: NodeID, address: PeerAddress) {
        self.id = id
        self.address = address
    }

    public var description: String { "\(id)@\(address)" }
}

/// A broadcast message's identity: its origin, the origin's epoch and a sequence number that grows by one
/// per message within that epoch. Ids from one origin and epoch are dense, so a node's holdings compress to
/// a few sequence ranges per origin: anti-entropy digests stay small and a gap is a missing message.
public struct MessageID: Hashable, Sendable, CustomStringConvertible {
    public var origin: NodeID
    public var epoch: Epoch
    public var sequence: UInt64

    public init(origin: NodeID, epoch: Epoch, sequence: UInt64) {
        self.origin = origin
        self.epoch = epoch
        self.sequence = sequence
    }

    /// `origin/epoch/sequence`, the form the admin endpoint shows.
    public var description: String { "\(origin)/\(epoch)/\(sequence)" }
}

extension StringProtocol {
    func trimmingWhitespace() -> Substring {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return slice
    }
}
