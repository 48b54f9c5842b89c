/// A member's tags, kept in their wire encoding (a key count, then each key and value length-prefixed, keys
/// ascending): one small buffer per entry instead of a dictionary of strings. Every node holds every member's
/// entry, so this is what makes an entry with 64 B of tags cost about 100 B of heap rather than 400
/// (docs/benchmarks.md, "Directory memory"). It also makes an entry's encoding a copy and its equality a
/// comparison of bytes, since the encoding is canonical.
public struct MemberTags: Hashable, Sendable, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    private enum Storage: Hashable, Sendable {
        /// The wire encoding; empty for no tags (encoded as a single zero count).
        case encoded([UInt8])
        /// Tags the wire cannot carry at all (a key over 255 bytes, a value over 65,535 bytes, or more than
        /// 255 keys): kept as given so that validation names what is wrong; never encoded.
        case unencodable([String: String])
    }

    private var storage: Storage

    public static let none = MemberTags()

    public init(_ tags: [String: String] = [:]) {
        let encodable = tags.count <= Int(UInt8.max)
            && tags.allSatisfy { $0.key.utf8.count <= Int(UInt8.max) && $0.value.utf8.count <= Int(UInt16.max) }
        guard encodable else {
            storage = .unencodable(tags)
            return
        }
        guard !tags.isEmpty else {
            storage = .encoded([])
            return
        }
        let size = tags.reduce(1) { $0 + Self.pairSize(key: $1.key.utf8.count, value: $1.value.utf8.count) }
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = ByteWriter(UnsafeMutableRawBufferPointer(buffer))
            writer.write(UInt8(tags.count))
            for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                writer.writeString(key, lengthAs: UInt8.self)
                writer.writeString(value, lengthAs: UInt16.self)
            }
            initialized = size
        }
        storage = .encoded(bytes)
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// Bytes already checked by `read(_:limits:)`.
    private init(validatedEncoding bytes: [UInt8]) {
        storage = .encoded(bytes.count <= 1 ? [] : bytes)
    }

    private static func pairSize(key: Int, value: Int) -> Int { 1 + key + 2 + value }

    /// The tags as a dictionary, decoded on each call.
    public var dictionary: [String: String] {
        switch storage {
        case .unencodable(let tags): return tags
        case .encoded(let bytes):
            var tags: [String: String] = [:]
            tags.reserveCapacity(count)
            forEachPair(in: bytes) { key, value in tags[key] = value }
            return tags
        }
    }

    public var count: Int {
        switch storage {
        case .unencodable(let tags): tags.count
        case .encoded(let bytes): bytes.first.map(Int.init) ?? 0
        }
    }

    public var isEmpty: Bool { count == 0 }

    public subscript(key: String) -> String? {
        get { value(of: key) }
        set {
            var tags = dictionary
            tags[key] = newValue
            self = MemberTags(tags)
        }
    }

    private func value(of key: String) -> String? {
        switch storage {
        case .unencodable(let tags): return tags[key]
        case .encoded(let bytes):
            var found: String?
            forEachPair(in: bytes) { pairKey, value in if found == nil, pairKey == key { found = value } }
            return found
        }
    }

    /// The size of the wire encoding; for unencodable tags, what it would take with wider length fields, so
    /// that size checks still fail as they should.
    public var encodedSize: Int {
        switch storage {
        case .encoded(let bytes): max(1, bytes.count)
        case .unencodable(let tags): tags.reduce(1) { $0 + Self.pairSize(key: $1.key.utf8.count, value: $1.value.utf8.count) }
        }
    }

    /// Whether the wire can carry these tags at all; validation refuses them otherwise.
    var isEncodable: Bool {
        if case .encoded = storage { true } else { false }
    }

    /// Each key and value, in key order.
    public var pairs: [(key: String, value: String)] {
        switch storage {
        case .unencodable(let tags): return tags.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        case .encoded(let bytes):
            var pairs: [(key: String, value: String)] = []
            pairs.reserveCapacity(count)
            forEachPair(in: bytes) { key, value in pairs.append((key, value)) }
            return pairs
        }
    }

    /// `k=v,k=v` in key order, as Serf's member lines show tags.
    public var description: String {
        pairs.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// Calls `body` with each key and value in key order.
    private func forEachPair(in bytes: [UInt8], _ body: (String, String) -> Void) {
        var offset = 1
        while offset < bytes.count {
            let keyLength = Int(bytes[offset])
            let key = String(decoding: bytes[offset + 1 ..< offset + 1 + keyLength], as: UTF8.self)
            offset += 1 + keyLength
            let valueLength = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            let value = String(decoding: bytes[offset + 2 ..< offset + 2 + valueLength], as: UTF8.self)
            offset += 2 + valueLength
            body(key, value)
        }
    }

    // MARK: Wire

    /// Writes the encoding; the caller validated the tags (`DirectoryLimits.validate`), so they are encodable.
    func write(into writer: inout ByteWriter) {
        switch storage {
        case .encoded(let bytes) where bytes.isEmpty: writer.write(UInt8(0))
        case .encoded(let bytes): writer.write(bytes: bytes)
        case .unencodable:
            // Unreachable behind validation; writing no tags keeps the frame well formed.
            assertionFailure("unencodable tags reached the encoder")
            writer.write(UInt8(0))
        }
    }

    /// Reads tags from the wire, checking the key count before anything is reserved, every string's UTF-8,
    /// that keys are non-empty and ascending, each once (so an entry has one encoding and its size and hash
    /// agree everywhere), and the encoded size against the limit.
    static func read(_ reader: inout ByteReader, limits: DirectoryLimits) throws(WireError) -> MemberTags {
        let start = reader.offset
        let count = Int(try reader.read(UInt8.self, "memberEntry.tagCount"))
        guard count <= limits.maximumTagKeys else {
            throw .invalidValue(field: "memberEntry.tags", detail: "\(count) keys, more than the limit of \(limits.maximumTagKeys)")
        }
        try reader.require(count * 4, for: "memberEntry.tags")
        var previousKey: String?
        for _ in 0..<count {
            let key = try reader.readString(lengthAs: UInt8.self, "memberEntry.tagKey")
            _ = try reader.readString(lengthAs: UInt16.self, "memberEntry.tagValue")
            guard !key.isEmpty else { throw .invalidValue(field: "memberEntry.tagKey", detail: "empty key") }
            if let previousKey, !(previousKey < key) {
                throw .invalidValue(field: "memberEntry.tagKey", detail: "key \"\(key)\" out of order or repeated")
            }
            previousKey = key
        }
        let size = reader.offset - start
        guard size <= limits.maximumTagBytes else {
            throw .invalidValue(field: "memberEntry.tags", detail: "\(size) bytes, more than the limit of \(limits.maximumTagBytes)")
        }
        return MemberTags(validatedEncoding: [UInt8](UnsafeRawBufferPointer(rebasing: reader.buffer[start..<reader.offset])))
    }
}
