// swift-crypto 3.x predates Sendable annotations; the key types kept here are immutable values and safe to share.
@preconcurrency import Crypto

/// The secret shared by every node of one cluster: 32 random bytes. Only a node that holds it can complete a
/// handshake, so it is what admits a peer to a link.
public struct ClusterKey: Sendable, Equatable, Identifiable, CustomStringConvertible {
    public static let byteCount = 32
    /// The text form: one line of lowercase hex.
    public static let textLength = 2 * byteCount

    /// A key's public name: the first 8 bytes of HMAC-SHA256(key, "rumor key id v1"). A HELLO carries it so that a
    /// responder picks the matching key of its keyring at once instead of trying each; it reveals nothing of the key.
    public struct ID: Hashable, Sendable, CustomStringConvertible {
        public static let byteCount = 8
        /// The 8 bytes read as a big-endian integer.
        public let rawValue: UInt64

        public init(rawValue: UInt64) {
            self.rawValue = rawValue
        }

        /// The id in its 8-byte wire form; nil unless `bytes` holds exactly 8 bytes.
        public init?(bytes: some Collection<UInt8>) {
            guard bytes.count == Self.byteCount else { return nil }
            rawValue = bytes.reduce(0) { $0 << 8 | UInt64($1) }
        }

        /// The 8-byte wire form, big-endian.
        public var bytes: [UInt8] {
            (0..<Self.byteCount).map { UInt8(truncatingIfNeeded: rawValue >> (8 * (Self.byteCount - 1 - $0))) }
        }

        public var description: String { Hex.encode(bytes) }
    }

    /// Equality of `SymmetricKey` is constant-time, so comparing keys leaks nothing through timing.
    let symmetricKey: SymmetricKey
    public let id: ID

    /// A key from its 32 bytes; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        self.init(SymmetricKey(data: Array(bytes)))
    }

    private init(_ key: SymmetricKey) {
        symmetricKey = key
        id = ID(bytes: Array(HMAC<SHA256>.authenticationCode(for: Array("rumor key id v1".utf8), using: key)).prefix(ID.byteCount))!
    }

    /// A new key from the system's cryptographic random number generator.
    public static func generate() -> ClusterKey {
        ClusterKey(SymmetricKey(size: .bits256))
    }

    /// Parses the text form: 64 hex digits. Surrounding whitespace (a file's final newline) is ignored and upper
    /// case is accepted, since keys are pasted by hand; `text` always writes lower case.
    public init(text: some StringProtocol) throws(ClusterKeyTextError) {
        let digits = Array(text.trimmedOfWhitespace)
        guard digits.count == Self.textLength else { throw .wrongLength(found: digits.count) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = Hex.value(of: digits[pair]) else {
                throw .notHex(position: pair + 1, character: digits[pair])
            }
            guard let low = Hex.value(of: digits[pair + 1]) else {
                throw .notHex(position: pair + 2, character: digits[pair + 1])
            }
            bytes.append(high << 4 | low)
        }
        self.init(bytes: bytes)!
    }

    /// The key as 64 lowercase hex digits: the secret itself, for a key file and nowhere else.
    public var text: String {
        symmetricKey.withUnsafeBytes { Hex.encode($0) }
    }

    /// The key's bytes, for the key schedule (HKDF salt).
    var bytes: [UInt8] {
        symmetricKey.withUnsafeBytes { Array($0) }
    }

    /// Names the key by its id only, so that logging a key never prints the secret.
    public var description: String { "cluster key \(id)" }
}

/// Why a key's text form was refused.
public enum ClusterKeyTextError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text, without surrounding whitespace, is not 64 characters long.
    case wrongLength(found: Int)
    /// The character at this 1-based position is not a hex digit.
    case notHex(position: Int, character: Character)

    public var description: String {
        switch self {
        case .wrongLength(let found):
            "expected \(ClusterKey.textLength) hex characters, found \(found)"
        case .notHex(let position, let character):
            "character \(position) is \(String(reflecting: character)), not a hex digit"
        }
    }
}
