/// First-in, first-out queue with O(1) pops, for expiring entries in arrival order.
struct FIFOQueue<Element> {
    private var storage: [Element] = []
    private var head = 0

    var count: Int { storage.count - head }
    var first: Element? { head < storage.count ? storage[head] : nil }

    mutating func append(_ element: Element) { storage.append(element) }

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
    }

    let maximumCount: Int
    let maximumBytes: Int
    let retention: Duration
    private(set) var entries: [MessageID: Entry] = [:]
    private var order = FIFOQueue<MessageID>()
    private(set) var bytes = 0

    init(maximumCount: Int, maximumBytes: Int, retention: Duration) {
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
        self.retention = retention
    }

    var count: Int { entries.count }

    subscript(id: MessageID) -> Entry? { entries[id] }

    mutating func insert(_ id: MessageID, _ entry: Entry) {
        guard entries[id] == nil else { return }
        entries[id] = entry
        order.append(id)
        bytes += entry.payload.count
        while entries.count > maximumCount || bytes > maximumBytes { evictOldest() }
    }

    mutating func expire(at now: Timestamp) {
        while let oldest = order.first {
            guard let entry = entries[oldest] else {
                _ = order.removeFirst()
                continue
            }
            guard now.since(entry.storedAt) > retention else { break }
            evictOldest()
        }
    }

    private mutating func evictOldest() {
        guard let oldest = order.removeFirst(), let entry = entries.removeValue(forKey: oldest) else { return }
        bytes -= entry.payload.count
    }

    /// The ids held, as ranges per origin and epoch, sorted, at most `limit` entries.
    func digest(limit: Int) -> [DigestEntry] {
        var byOrigin: [OriginEpoch: [UInt64]] = [:]
        for id in entries.keys { byOrigin[OriginEpoch(origin: id.origin, epoch: id.epoch), default: []].append(id.sequence) }
        return byOrigin.keys.sorted().prefix(limit).map { key in
            DigestEntry(origin: key.origin, epoch: key.epoch, ranges: ranges(of: byOrigin[key]!.sorted()))
        }
    }

    private func ranges(of sorted: [UInt64]) -> [ClosedRange<UInt64>] {
        var result: [ClosedRange<UInt64>] = []
        for value in sorted {
            if let last = result.last, last.upperBound &+ 1 == value {
                result[result.count - 1] = last.lowerBound...value
            } else {
                result.append(value...value)
            }
        }
        return result
    }
}

struct OriginEpoch: Hashable, Comparable {
    var origin: NodeID
    var epoch: Epoch

    static func < (lhs: OriginEpoch, rhs: OriginEpoch) -> Bool { (lhs.origin, lhs.epoch) < (rhs.origin, rhs.epoch) }
}

/// Ids already delivered, for exactly-once delivery: bounded by count, bytes and age, kept longer than
/// payloads.
struct SeenSet {
    let maximumCount: Int
    let maximumBytes: Int
    let retention: Duration
    private var ids: Set<MessageID> = []
    private var order = FIFOQueue<(MessageID, Timestamp)>()
    private(set) var bytes = 0

    init(maximumCount: Int, maximumBytes: Int, retention: Duration) {
        self.maximumCount = maximumCount
        self.maximumBytes = maximumBytes
        self.retention = retention
    }

    var count: Int { ids.count }

    func contains(_ id: MessageID) -> Bool { ids.contains(id) }

    /// What one remembered id costs: its origin's bytes, two numbers, and the set's and queue's overhead.
    static func footprint(of id: MessageID) -> Int { id.origin.rawValue.utf8.count + 64 }

    mutating func insert(_ id: MessageID, at now: Timestamp) {
        guard ids.insert(id).inserted else { return }
        order.append((id, now))
        bytes += Self.footprint(of: id)
        while ids.count > maximumCount || bytes > maximumBytes, let (oldest, _) = order.removeFirst() { forget(oldest) }
    }

    mutating func expire(at now: Timestamp) {
        while let (id, seenAt) = order.first, now.since(seenAt) > retention {
            _ = order.removeFirst()
            forget(id)
        }
    }

    private mutating func forget(_ id: MessageID) {
        if ids.remove(id) != nil { bytes -= Self.footprint(of: id) }
    }
}
