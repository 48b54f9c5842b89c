/// First-in, first-out queue with O(1) pops, for expiring entries in arrival order.
struct FIFOQueue<Element> {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var first: Element? { head < storage.count ? storage[head] : nil }
    var last: Element? { head < storage.count ? storage.last : nil }

    mutating func append(_ element: Element) { storage.append(element) }

    /// The elements still queued, first first.
    var elements: ArraySlice<Element> { storage[head...] }

    mutating func removeFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head]
        head += 1
        if head > 1024, head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }
}

/// Payloads kept to answer GRAFTs and pulls, bounded by count, bytes and age (oldest go first).
struct PayloadCache {
    struct Entry {
        var payload: [UInt8]
        var round: UInt32
        /// The peer it came from (nil when published here), for the optimisation step.
        var sender: NodeID?
        var storedAt: Timestamp
        /// Nil for the global broadcast; a payload of another topic goes only over links that carry topics.
        var topic: TopicID? = nil
    }

    let maximumCount: Int
    let maximumBytes: Int
    let retention: Duration
    private(set) var entries: [MessageID: Entry] = [:]
    private var order = FIFOQueue<MessageID>()
    private(set) var bytes = 0
    /// Payloads evicted for count or bytes before their retention ran out.
    private(set) var evictionsForSpace = 0
    /// Payloads ever inserted: grows exactly when the digest gains an id.
    private(set) var insertions: UInt64 = 0
    /// The digest's ranges, per origin and epoch, sorted by origin and epoch.
    private var held: [(key: OriginEpoch, sequences: SequenceRanges)] = []

    init(maximumCount: Int, maximumBytes: Int, retention: Duration) {
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
        self.retention = retention
    }

    var count: Int { entries.count }

    subscript(id: MessageID) -> Entry? { entries[id] }

    /// Keeps a payload; returns what had to go to make room (ids and when they were stored).
    mutating func insert(_ id: MessageID, _ entry: Entry) -> [Departure] {
        guard entries[id] == nil else { return [] }
        entries[id] = entry
        insertions += 1
        order.append(id)
        bytes += entry.payload.count
        let key = OriginEpoch(origin: id.origin, epoch: id.epoch)
        let position = heldPosition(of: key)
        if position < held.count, held[position].key == key {
            held[position].sequences.insert(id.sequence)
        } else {
            var sequences = SequenceRanges()
            sequences.insert(id.sequence)
            held.insert((key, sequences), at: position)
        }
        var departed: [Departure] = []
        while entries.count > maximumCount || bytes > maximumBytes, order.count > 0 {
            if let departure = evictOldest() { departed.append(departure) }
            evictionsForSpace += 1
        }
        return departed
    }

    /// Drops payloads older than the retention; returns them (ids and when they were stored).
    mutating func expire(at now: Timestamp) -> [Departure] {
        var departed: [Departure] = []
        while let oldest = order.first {
            guard let entry = entries[oldest] else {
                _ = order.removeFirst()
                continue
            }
            guard now.since(entry.storedAt) > retention, let departure = evictOldest() else { break }
            departed.append(departure)
        }
        return departed
    }

    /// A payload that left the cache: its id and when it was stored (delivered).
    typealias Departure = (id: MessageID, storedAt: Timestamp)

    private mutating func evictOldest() -> Departure? {
        guard let oldest = order.removeFirst(), let entry = entries.removeValue(forKey: oldest) else { return nil }
        bytes -= entry.payload.count
        let key = OriginEpoch(origin: oldest.origin, epoch: oldest.epoch)
        let position = heldPosition(of: key)
        guard position < held.count, held[position].key == key else { return (oldest, entry.storedAt) }
        held[position].sequences.remove(oldest.sequence)
        if held[position].sequences.isEmpty { held.remove(at: position) }
        return (oldest, entry.storedAt)
    }

    /// Where `key` is, or would go, in `held`.
    private func heldPosition(of key: OriginEpoch) -> Int {
        held.partitionPoint { $0.key < key }
    }

    /// The parts of a peer's digest this cache does not hold, entry by entry (entries held in full are left
    /// out). A digest comes sorted as ours is, so one walk through both suffices; an entry out of order (a
    /// forged digest) is looked up by binary search instead.
    func unheldParts(of entries: [DigestEntry]) -> [DigestEntry] {
        var result: [DigestEntry] = []
        var cursor = 0
        for entry in entries {
            let key = OriginEpoch(origin: entry.origin, epoch: entry.epoch)
            if cursor < held.count, held[cursor].key != key {
                cursor = held[cursor].key < key ? advance(from: cursor, to: key) : heldPosition(of: key)
            }
            guard cursor < held.count, held[cursor].key == key else {
                result.append(entry)
                continue
            }
            if held[cursor].sequences.containsAll(entry.ranges) { continue }
            result.append(DigestEntry(origin: entry.origin, epoch: entry.epoch, ranges: held[cursor].sequences.subtracted(from: entry.ranges)))
        }
        return result
    }

    /// The first position at or after `start` whose key is not below `key`: a short step forward usually.
    private func advance(from start: Int, to key: OriginEpoch) -> Int {
        var position = start
        for _ in 0..<4 {
            guard position < held.count, held[position].key < key else { return position }
            position += 1
        }
        return heldPosition(of: key)
    }

    /// The ids of the payloads held.
    var ids: Dictionary<MessageID, Entry>.Keys { entries.keys }

    /// What disagrees among the entries, their byte count, their eviction order and the digest's ranges
    /// (empty when all agree); linear in the payloads held, for the invariant checker.
    func consistencyProblems() -> [String] {
        var problems: [String] = []
        let total = entries.values.reduce(0) { $0 + $1.payload.count }
        if total != bytes { problems.append("cache counts \(bytes) payload bytes, its entries hold \(total)") }
        let queued = Set(order.elements)
        if let unqueued = entries.keys.first(where: { !queued.contains($0) }) {
            problems.append("cached \(unqueued) is not in the eviction order")
        }
        var heldCount = 0
        for (position, item) in held.enumerated() {
            if position > 0, !(held[position - 1].key < item.key) { problems.append("digest entries out of order at \(item.key.origin)") }
            for range in item.sequences.ranges {
                heldCount += range.count
                if let absent = range.first(where: { entries[MessageID(origin: item.key.origin, epoch: item.key.epoch, sequence: $0)] == nil }) {
                    problems.append("the digest names \(item.key.origin)/\(item.key.epoch)/\(absent), which is not cached")
                    break
                }
            }
        }
        if heldCount != entries.count { problems.append("the digest names \(heldCount) ids, the cache holds \(entries.count)") }
        return problems
    }

    /// The ids held, as ranges per origin and epoch, sorted, at most `limit` entries. Kept up to date on every
    /// insert and eviction: building it from the whole cache every anti-entropy round cost more than the
    /// round itself.
    func digest(limit: Int) -> [DigestEntry] {
        held.prefix(limit).map { DigestEntry(origin: $0.key.origin, epoch: $0.key.epoch, ranges: $0.sequences.ranges) }
    }
}

struct OriginEpoch: Hashable, Comparable {
    var origin: NodeID
    var epoch: Epoch

    static func < (lhs: OriginEpoch, rhs: OriginEpoch) -> Bool { (lhs.origin, lhs.epoch) < (rhs.origin, rhs.epoch) }
}

/// Ids delivered whose payloads have left the cache, for exactly-once delivery: bounded by count, bytes
/// and age (counted from delivery), kept longer than payloads. An id whose payload is still cached is not
/// here as well: the cache answers for it (`PlumtreeState.hasSeen`), which halves what a message costs
/// each node while its payload is kept.
///
/// An id that expires leaves a floor for its origin and epoch: ids at or below the highest sequence expired
/// there count as seen for one more retention. An origin publishes in sequence order, so an id below one
/// delivered a retention ago is older still, and could only come back from a node that received it late and
/// keeps it anew: without the floor such a node's digest made its peers pull and deliver it again, and their
/// copies made the next ones pull it (a 1,000-node simulation resent every node's first directory entry in
/// waves of megabytes every few minutes). Ids evicted for space leave no floor: a lower id of the same
/// origin may still be on its way.
struct SeenSet {
    let maximumCount: Int
    let maximumBytes: Int
    let retention: Duration
    private var ids: Set<MessageID> = []
    private(set) var floors: [OriginEpoch: (sequence: UInt64, until: Timestamp)] = [:]
    private var order = FIFOQueue<(MessageID, Timestamp)>()
    private(set) var bytes = 0
    /// Ids forgotten for count or bytes before their retention ran out.
    private(set) var evictionsForSpace = 0

    init(maximumCount: Int, maximumBytes: Int, retention: Duration) {
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
        self.retention = retention
    }

    var count: Int { ids.count }

    /// Whether `id` itself is remembered (not only covered by its origin's floor).
    func remembersExactly(_ id: MessageID) -> Bool { ids.contains(id) }

    func contains(_ id: MessageID) -> Bool {
        if ids.contains(id) { return true }
        guard !floors.isEmpty, let floor = floors[OriginEpoch(origin: id.origin, epoch: id.epoch)] else { return false }
        return id.sequence <= floor.sequence
    }

    /// What one remembered id costs: its origin's bytes, two numbers, and the set's and queue's overhead.
    /// What disagrees between the ids, their byte count and their expiry order (empty when all agree).
    func consistencyProblems() -> [String] {
        var problems: [String] = []
        let total = ids.reduce(0) { $0 + Self.footprint(of: $1) }
        if total != bytes { problems.append("seen set counts \(bytes) bytes, its ids cost \(total)") }
        let queued = Set(order.elements.map(\.0))
        if let unqueued = ids.first(where: { !queued.contains($0) }) { problems.append("seen \(unqueued) is not in the expiry order") }
        return problems
    }

    static func footprint(of id: MessageID) -> Int { id.origin.rawValue.utf8.count + 64 }

    mutating func insert(_ id: MessageID, at now: Timestamp) {
        guard ids.insert(id).inserted else { return }
        order.append((id, now))
        bytes += Self.footprint(of: id)
        while ids.count > maximumCount || bytes > maximumBytes, let (oldest, _) = order.removeFirst() {
            forget(oldest)
            evictionsForSpace += 1
        }
    }

    mutating func expire(at now: Timestamp) {
        if !floors.isEmpty { floors = floors.filter { $0.value.until > now } }
        while let (id, seenAt) = order.first, now.since(seenAt) > retention {
            _ = order.removeFirst()
            forget(id)
            let key = OriginEpoch(origin: id.origin, epoch: id.epoch)
            floors[key] = (max(id.sequence, floors[key]?.sequence ?? 0), now + retention)
        }
    }

    private mutating func forget(_ id: MessageID) {
        if ids.remove(id) != nil { bytes -= Self.footprint(of: id) }
    }
}
