/// The directory's parameters; `docs/directory.md` gives the reason for each default.
public struct DirectoryConfiguration: Sendable, Equatable {
    /// Off, the node keeps no directory and sends no entries, reports or summaries, but still relays the
    /// directory topic for its peers. The simulator's broadcast experiments switch it off: they measure the
    /// application's messages, and a mass join of 10,000 entries would be most of their work.
    public var enabled = true
    /// Off, entries and reports are not broadcast: directories converge by reconciliation alone. For the
    /// experiment that shows reconciliation carries its weight, not for a deployment.
    public var broadcastsUpdates = true
    /// This node's tags when it starts (`--tag`, `--tags-file`, or restored from the data directory).
    public var tags: [String: String] = [:]
    /// The version this node's first entry carries: above every version a previous run of the same epoch
    /// published (the data directory keeps it), 1 otherwise.
    public var initialVersion: UInt64 = 1
    /// A member reported only once, or only as silent, is suspect for this long, then failed unless it
    /// refuted the report by raising its version.
    public var suspicionTimeout: Duration = .seconds(3)
    /// Tombstones: how long a failed or departed member stays listed before it is removed.
    public var failedRetention: Duration = .seconds(3600)
    public var leftRetention: Duration = .seconds(900)
    /// How long a removed member's epoch stays refused, so that stale copies of its entry cannot bring it back.
    public var epochFloorRetention: Duration = .seconds(86_400)
    /// The most entry bytes one reconciliation reply carries; the rest follows at the next exchange.
    public var maximumEntryBytesPerExchange = 256 << 10
    public var limits = DirectoryLimits()

    public init() {}
}

/// Sizes checked before anything is stored (D6).
public struct DirectoryLimits: Sendable, Equatable {
    /// Tags as encoded on the wire: a count byte, then each key (1-byte length) and value (2-byte length).
    public var maximumTagBytes = 1024
    public var maximumTagKeys = 64
    /// A whole entry as encoded on the wire.
    public var maximumEntryBytes = 2048
    public var maximumEntries = 100_000

    public init() {}

    /// No limit at all: for decoding what this node itself encoded after checking it.
    static let unchecked: DirectoryLimits = {
        var limits = DirectoryLimits()
        limits.maximumTagBytes = .max
        limits.maximumTagKeys = .max
        limits.maximumEntryBytes = .max
        limits.maximumEntries = .max
        return limits
    }()
}

/// Why tags, or an entry, were refused.
public enum DirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooManyTagKeys(count: Int, limit: Int)
    case tagsTooLarge(bytes: Int, limit: Int)
    case entryTooLarge(bytes: Int, limit: Int)
    case emptyTagKey
    case tagKeyTooLong(key: String, limit: Int)
    case tagValueTooLong(key: String, bytes: Int, limit: Int)
    case directoryFull(limit: Int)
    case stopping

    public var description: String {
        switch self {
        case .tooManyTagKeys(let count, let limit): "\(count) tag keys, more than the limit of \(limit)"
        case .tagsTooLarge(let bytes, let limit): "tags take \(bytes) bytes encoded, more than the limit of \(limit)"
        case .entryTooLarge(let bytes, let limit): "the member entry takes \(bytes) bytes encoded, more than the limit of \(limit)"
        case .emptyTagKey: "a tag key is empty"
        case .tagKeyTooLong(let key, let limit): "tag key \"\(key.prefix(40))…\" is longer than \(limit) bytes"
        case .tagValueTooLong(let key, let bytes, let limit): "the value of tag \"\(key)\" takes \(bytes) bytes, more than \(limit)"
        case .directoryFull(let limit): "the directory holds \(limit) entries, its limit"
        case .stopping: "the node is stopping"
        }
    }
}

extension DirectoryLimits {
    /// The encoded size of `tags` (see `DirectoryCodec`).
    public static func encodedSize(of tags: [String: String]) -> Int {
        tags.reduce(1) { $0 + 1 + $1.key.utf8.count + 2 + $1.value.utf8.count }
    }

    /// Checks `tags` against the limits, cheapest checks first.
    public func validate(_ tags: [String: String]) throws(DirectoryError) {
        guard tags.count <= maximumTagKeys else { throw .tooManyTagKeys(count: tags.count, limit: maximumTagKeys) }
        for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty else { throw .emptyTagKey }
            guard key.utf8.count <= Int(UInt8.max) else { throw .tagKeyTooLong(key: key, limit: Int(UInt8.max)) }
            guard value.utf8.count <= maximumTagBytes else {
                throw .tagValueTooLong(key: key, bytes: value.utf8.count, limit: maximumTagBytes)
            }
        }
        let size = Self.encodedSize(of: tags)
        guard size <= maximumTagBytes else { throw .tagsTooLarge(bytes: size, limit: maximumTagBytes) }
    }

    public func validate(_ tags: MemberTags) throws(DirectoryError) {
        // Tags the wire cannot carry fail the dictionary's checks, which name the key at fault.
        guard tags.isEncodable else { return try validate(tags.dictionary) }
        guard tags.count <= maximumTagKeys else { throw .tooManyTagKeys(count: tags.count, limit: maximumTagKeys) }
        if tags[""] != nil { throw .emptyTagKey }
        guard tags.encodedSize <= maximumTagBytes else { throw .tagsTooLarge(bytes: tags.encodedSize, limit: maximumTagBytes) }
    }

    public func validate(_ entry: MemberEntry) throws(DirectoryError) {
        try validate(entry.tags)
        let size = DirectoryCodec.encodedSize(of: entry)
        guard size <= maximumEntryBytes else { throw .entryTooLarge(bytes: size, limit: maximumEntryBytes) }
    }
}
