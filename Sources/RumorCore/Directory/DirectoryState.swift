/// Every member this node knows of, one entry each, with what this node observed of it: when it last heard of
/// it, since when its status holds, and whether it is suspect. Entries are grouped into `bucketCount` buckets
/// by id, each with the XOR of its entries' hashes, so that two nodes compare directories with one summary,
/// then one hash per bucket, and exchange entries only where buckets differ (D3).
struct DirectoryState {
    static let bucketCount = 256

    typealias Record = RecordTable.Record

    /// Reports against a member's current version, by reporter, and when it fails unless refuted. Any newer
    /// entry of the member settles them. Kept apart from the records, which stay small (every member has
    /// one, few are suspect) and so that the suspicion timer is found in O(suspects).
    struct Suspicion: Equatable {
        var reporters: [NodeID: FailureEvidence] = [:]
        var deadline: Timestamp

        var closedReports: Int { reporters.values.filter { $0 == .closed }.count }
    }

    /// What a merge did with an entry.
    enum MergeOutcome: Equatable {
        case added
        /// The entry replaced an older one (`previous`).
        case replaced(previous: MemberEntry)
        /// This node holds the entry already, or a newer one.
        case stale
        /// The id was removed, and the entry belongs to an epoch at or below the removed one (D5).
        case belowEpochFloor
        case full
        /// A removal notice dropped the entry this node held.
        case removed(previous: MemberEntry)
    }

    private(set) var records = RecordTable()
    private(set) var suspicions: [NodeID: Suspicion] = [:]
    private(set) var bucketHashes = [UInt64](repeating: 0, count: bucketCount)
    /// Ids removed after their tombstone time: entries of their epoch or older are refused until `until`.
    private(set) var epochFloors: [NodeID: (epoch: Epoch, until: Timestamp)] = [:]
    let limits: DirectoryLimits
    let epochFloorRetention: Duration

    init(limits: DirectoryLimits, epochFloorRetention: Duration = DirectoryConfiguration().epochFloorRetention) {
        self.limits = limits
        self.epochFloorRetention = epochFloorRetention
    }

    var count: Int { records.count }

    /// Room for `count` members without growing (a simulator preloading a settled directory).
    mutating func reserveCapacity(_ count: Int) { records.reserveCapacity(count) }
    subscript(id: NodeID) -> Record? { records[id] }

    /// The summary two nodes compare first: one hash over every entry (the XOR of the buckets).
    var rootHash: UInt64 { bucketHashes.reduce(0, ^) }

    /// Keeps `entry` if it outranks what this node holds of its id (D1).
    mutating func merge(_ entry: MemberEntry, at now: Timestamp) -> MergeOutcome {
        merge(StoredEntry(entry), at: now)
    }

    /// Keeps `stored` as it is (its buffer shared with whoever else holds it) if it outranks what this node
    /// holds of its id (D1).
    mutating func merge(_ stored: StoredEntry, at now: Timestamp) -> MergeOutcome {
        let id = stored.id
        let incoming = stored.precedence
        if incoming.status == .removed { return applyRemoval(id: id, epoch: incoming.epoch, at: now) }
        if let floor = epochFloors[id], incoming.epoch <= floor.epoch { return .belowEpochFloor }
        guard var record = records[id] else {
            guard records.count < limits.maximumEntries else { return .full }
            records.upsert(Record(stored: stored, lastSeen: now, since: now))
            epochFloors[id] = nil
            bucketHashes[DirectoryHash.bucket(ofIDHash: stored.idHash)] ^= stored.summaryHash
            return .added
        }
        let held = record.precedence
        guard incoming > held else { return .stale }
        // A verdict on the alive entry held is a mark on it, the member's buffer still shared.
        if incoming.status == .failed, held.status == .alive, incoming.epoch == held.epoch, incoming.version == held.version {
            return markFailed(id, at: now)
        }
        let previous = record.entry
        let replacedHash = record.summaryHash
        record.replace(with: stored)
        bucketHashes[DirectoryHash.bucket(ofIDHash: stored.idHash)] ^= replacedHash ^ record.summaryHash
        record.lastSeen = now
        // A newer version, or a verdict, settles every report against the old one.
        let settled = suspicions.removeValue(forKey: id) != nil
        if incoming.status != held.status || incoming.epoch != held.epoch || settled { record.since = now }
        records.upsert(record)
        return .replaced(previous: previous)
    }

    /// This node's verdict on an alive member: its current entry, failed (D4).
    mutating func markFailed(_ id: NodeID, at now: Timestamp) -> MergeOutcome {
        guard var record = records[id] else { return .stale }
        let previous = record.entry
        let replacedHash = record.summaryHash
        guard record.markFailed() else { return .stale }
        bucketHashes[DirectoryHash.bucket(ofIDHash: record.stored.idHash)] ^= replacedHash ^ record.summaryHash
        record.lastSeen = now
        record.since = now
        suspicions[id] = nil
        records.upsert(record)
        return .replaced(previous: previous)
    }

    /// A removal notice (D5): the floor rises to its epoch, and a copy of that epoch or older goes.
    private mutating func applyRemoval(id: NodeID, epoch: Epoch, at now: Timestamp) -> MergeOutcome {
        let floor = max(epoch, epochFloors[id]?.epoch ?? 0)
        guard let current = records[id], current.stored.epoch <= epoch else {
            if records[id] == nil { epochFloors[id] = (floor, now + epochFloorRetention) }
            return .stale
        }
        records.remove(id)
        suspicions[id] = nil
        bucketHashes[DirectoryHash.bucket(ofIDHash: current.stored.idHash)] ^= current.summaryHash
        epochFloors[id] = (floor, now + epochFloorRetention)
        return .removed(previous: current.entry)
    }

    /// A removal notice for an id whose floor refused `entry`, to send back to whoever offered it.
    func removalNotice(for entry: MemberEntry) -> MemberEntry? {
        guard let floor = epochFloors[entry.id], entry.epoch <= floor.epoch else { return nil }
        return MemberEntry(peer: entry.peer, epoch: floor.epoch, version: 0, status: .removed)
    }

    /// Records a report against the member's current version; nil when the report is stale (an older epoch or
    /// version, or a member not alive) and changes nothing.
    mutating func suspect(_ report: FailureReport, failsAt: Timestamp, at now: Timestamp) -> Suspicion? {
        guard var record = records[report.subject] else { return nil }
        let held = record.precedence
        guard held.status == .alive, held.epoch == report.subjectEpoch, held.version <= report.subjectVersion else { return nil }
        if suspicions[report.subject] == nil {
            suspicions[report.subject] = Suspicion(deadline: failsAt)
            record.since = now
            records.upsert(record)
        }
        suspicions[report.subject]!.reporters[report.reporter] = report.evidence
        return suspicions[report.subject]
    }

    /// Suspects whose time ran out, in id order.
    func suspicionsDue(at now: Timestamp) -> [NodeID] {
        suspicions.filter { $0.value.deadline <= now }.keys.sorted()
    }

    var earliestSuspicionDeadline: Timestamp? {
        suspicions.values.lazy.map(\.deadline).min()
    }

    /// Removes tombstones past their time and floors past theirs; returns the entries removed.
    mutating func reap(at now: Timestamp, configuration: DirectoryConfiguration) -> [MemberEntry] {
        epochFloors = epochFloors.filter { $0.value.until > now }
        let expired = records.filter { record in
            switch record.status {
            case .alive, .removed: false
            case .failed: now.since(record.since) >= configuration.failedRetention
            case .left: now.since(record.since) >= configuration.leftRetention
            }
        }
        var removed: [MemberEntry] = []
        for record in expired {
            let id = record.id
            removed.append(record.entry)
            records.remove(id)
            suspicions[id] = nil
            bucketHashes[DirectoryHash.bucket(ofIDHash: record.stored.idHash)] ^= record.summaryHash
            epochFloors[id] = (record.epoch, now + epochFloorRetention)
        }
        return removed.sorted { $0.id < $1.id }
    }

    /// The entries of `buckets`, in bucket then id order, as many as fit `byteBudget`.
    func entries(inBuckets buckets: Set<Int>, byteBudget: Int) -> [MemberEntry] {
        var chosen: [MemberEntry] = []
        var bytes = 0
        let wanted = records.filter { buckets.contains(DirectoryHash.bucket(ofIDHash: $0.stored.idHash)) }.map { ($0.id, $0) }
            .sorted { $0.0 < $1.0 }
        for (_, record) in wanted {
            let size = record.stored.encodedSize
            if bytes + size > byteBudget { break }
            bytes += size
            chosen.append(record.entry)
        }
        return chosen
    }

    /// The bucket hashes computed afresh, for the invariant checker.
    func recomputedBucketHashes() -> [UInt64] {
        var hashes = [UInt64](repeating: 0, count: Self.bucketCount)
        for record in records { hashes[DirectoryHash.bucket(ofIDHash: record.stored.idHash)] ^= DirectoryHash.hash(id: record.stored.idBytes, precedence: record.precedence) }
        return hashes
    }
}
