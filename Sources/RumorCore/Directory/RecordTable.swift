/// A node's directory records in one flat array: open addressing with linear probing, keyed by the id inside
/// each stored entry, so a record is 24 bytes (a reference to the entry's shared buffer and two timestamps)
/// with no key beside it. A dictionary keyed by `NodeID` took 40 bytes a slot at a lower load; with every
/// node holding every member, that was most of a 10,000-node simulation's memory.
struct RecordTable: Sequence {
    /// A member's entry as this node holds it. An alive entry marked failed here keeps the member's own buffer
    /// (shared) with a flag, instead of a copy of its own: every survivor of a mass crash marks every dead
    /// member, and `failed` is the one status others write, on the member's current (epoch, version).
    struct Record {
        /// The member's entry as it came; `status` and `entry` say what this node holds.
        private(set) var stored: StoredEntry
        /// `lastSeen`'s nanoseconds, and in the top bit the failed mark (keeps the record at 24 bytes).
        private var lastSeenAndMark: UInt64
        /// When the entry's status (or suspicion) last changed here.
        var since: Timestamp

        private static let markBit: UInt64 = 1 << 63

        init(stored: StoredEntry, lastSeen: Timestamp, since: Timestamp) {
            self.stored = stored
            self.lastSeenAndMark = lastSeen.nanoseconds & ~Self.markBit
            self.since = since
        }

        /// The latest evidence of the member: a newer entry from it.
        var lastSeen: Timestamp {
            get { Timestamp(nanoseconds: lastSeenAndMark & ~Self.markBit) }
            set { lastSeenAndMark = (lastSeenAndMark & Self.markBit) | (newValue.nanoseconds & ~Self.markBit) }
        }

        /// Whether this node marked the stored alive entry failed.
        private(set) var isMarkedFailed: Bool {
            get { lastSeenAndMark & Self.markBit != 0 }
            set { lastSeenAndMark = newValue ? lastSeenAndMark | Self.markBit : lastSeenAndMark & ~Self.markBit }
        }

        /// Marks the held alive entry failed; false (and nothing changes) when it is not alive.
        mutating func markFailed() -> Bool {
            guard status == .alive else { return false }
            isMarkedFailed = true
            return true
        }

        /// Holds `newer` instead, as it came.
        mutating func replace(with newer: StoredEntry) {
            stored = newer
            isMarkedFailed = false
        }

        var status: MemberStatus { isMarkedFailed ? .failed : stored.status }

        var precedence: MemberEntry.Precedence {
            var precedence = stored.precedence
            if isMarkedFailed { precedence.status = .failed }
            return precedence
        }

        /// `DirectoryHash.hash(of: entry)`, without decoding it.
        var summaryHash: UInt64 { isMarkedFailed ? DirectoryHash.hash(id: stored.idBytes, precedence: precedence) : stored.summaryHash }

        var entry: MemberEntry {
            var entry = stored.entry
            if isMarkedFailed { entry.status = .failed }
            return entry
        }

        var id: NodeID { stored.id }
        var epoch: Epoch { stored.epoch }
        var version: UInt64 { stored.version }
    }

    /// Above this share of occupied slots the table grows: linear probing stays short below it.
    private static let maximumLoad = 0.85

    private var slots: [Record?] = []
    private(set) var count = 0

    var capacity: Int { slots.count }

    subscript(id: NodeID) -> Record? {
        slotIndex(of: id).map { slots[$0]! }
    }

    /// Inserts `record`, or replaces the record of its id.
    mutating func upsert(_ record: Record) {
        let hash = record.stored.idHash
        if let index = slotIndex(hash: hash, matching: { $0.hasSameID(as: record.stored) }) {
            slots[index] = record
            return
        }
        if Double(count + 1) > Double(capacity) * Self.maximumLoad { grow(toHold: count + 1) }
        var index = home(of: hash)
        while slots[index] != nil { index = next(index) }
        slots[index] = record
        count += 1
    }

    /// Removes `id`'s record, shifting back the records whose probe sequence passed its slot, so that no
    /// lookup stops early at the hole (no tombstones).
    @discardableResult
    mutating func remove(_ id: NodeID) -> Record? {
        guard let found = slotIndex(of: id) else { return nil }
        let removed = slots[found]
        slots[found] = nil
        count -= 1
        var hole = found
        var index = next(found)
        while let record = slots[index] {
            let homeIndex = home(of: record.stored.idHash)
            // The record may move to the hole unless its home lies cyclically in (hole, index].
            let homeBetween = hole < index ? (homeIndex > hole && homeIndex <= index) : (homeIndex > hole || homeIndex <= index)
            if !homeBetween {
                slots[hole] = record
                slots[index] = nil
                hole = index
            }
            index = next(index)
        }
        return removed
    }

    /// Makes room for `count` records without growing again (a simulator preloading a settled directory).
    mutating func reserveCapacity(_ count: Int) {
        if Double(count) > Double(capacity) * Self.maximumLoad { grow(toHold: count) }
    }

    func makeIterator() -> some IteratorProtocol<Record> {
        slots.lazy.compactMap { $0 }.makeIterator()
    }

    private func slotIndex(of id: NodeID) -> Int? {
        var name = id.rawValue
        return slotIndex(hash: name.withUTF8 { DirectoryHash.idHash($0) }, matching: { $0.isEntry(of: id) })
    }

    private func slotIndex(hash: UInt64, matching isWanted: (StoredEntry) -> Bool) -> Int? {
        guard capacity > 0 else { return nil }
        var index = home(of: hash)
        while let record = slots[index] {
            if isWanted(record.stored) { return index }
            index = next(index)
        }
        return nil
    }

    /// The id hash's high bits scaled to the capacity (the low bits pick the summary bucket).
    private func home(of hash: UInt64) -> Int { Int(hash.multipliedFullWidth(by: UInt64(capacity)).high) }

    private func next(_ index: Int) -> Int { index + 1 == capacity ? 0 : index + 1 }

    /// Half again as many slots (memory grows in smaller steps than doubling), and at least enough for `count`.
    private mutating func grow(toHold count: Int) {
        let wanted = Swift.max(8, capacity + capacity / 2, Int((Double(count) / Self.maximumLoad).rounded(.up)) + 1)
        let old = slots
        slots = [Record?](repeating: nil, count: wanted)
        for record in old.lazy.compactMap({ $0 }) {
            var index = home(of: record.stored.idHash)
            while slots[index] != nil { index = next(index) }
            slots[index] = record
        }
    }
}
