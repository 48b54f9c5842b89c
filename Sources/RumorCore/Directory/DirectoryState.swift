/// Every member this node knows of, one entry each, with what this node observed of it: when it last heard of
/// it, since when its status holds, and whether it is suspect. Entries are grouped into `bucketCount` buckets
/// by id, each with the XOR of its entries' hashes, so that two nodes compare directories with one summary,
/// then one hash per bucket, and exchange entries only where buckets differ (D3).
struct DirectoryState {
    static let bucketCount = 256

    struct Record {
        var stored: StoredEntry
        /// The latest evidence of the member: a newer entry from it, or a frame on a link to it.
        var lastSeen: Timestamp
        /// When the entry's status (or suspicion) last changed here.
        var since: Timestamp

        var entry: MemberEntry { stored.entry }
    }

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

    private(set) var records: [NodeID: Record] = [:]
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
    subscript(id: NodeID) -> Record? { records[id] }

    /// The summary two nodes compare first: one hash over every entry (the XOR of the buckets).
    var rootHash: UInt64 { bucketHashes.reduce(0, ^) }

    /// Keeps `entry` if it outranks what this node holds of its id (D1).
    mutating func merge(_ entry: MemberEntry, at now: Timestamp) -> MergeOutcome {
        if entry.status == .removed { return applyRemoval(entry, at: now) }
        if let floor = epochFloors[entry.id], entry.epoch <= floor.epoch { return .belowEpochFloor }
        guard let current = records[entry.id] else {
            guard records.count < limits.maximumEntries else { return .full }
            records[entry.id] = Record(stored: StoredEntry(entry), lastSeen: now, since: now)
            epochFloors[entry.id] = nil
            bucketHashes[DirectoryHash.bucket(of: entry.id)] ^= DirectoryHash.hash(of: entry)
            return .added
        }
        let held = current.stored.precedence
        guard entry.precedence > held else { return .stale }
        let bucket = DirectoryHash.bucket(of: entry.id)
        bucketHashes[bucket] ^= current.stored.summaryHash ^ DirectoryHash.hash(of: entry)
        var record = current
        record.stored = StoredEntry(entry)
        record.lastSeen = now
        // A newer version, or a verdict, settles every report against the old one.
        let settled = suspicions.removeValue(forKey: entry.id) != nil
        if entry.status != held.status || entry.epoch != held.epoch || settled { record.since = now }
        records[entry.id] = record
        return .replaced(previous: current.entry)
    }

    /// A removal notice (D5): the floor rises to its epoch, and a copy of that epoch or older goes.
    private mutating func applyRemoval(_ notice: MemberEntry, at now: Timestamp) -> MergeOutcome {
        let floor = max(notice.epoch, epochFloors[notice.id]?.epoch ?? 0)
        guard let current = records[notice.id], current.stored.epoch <= notice.epoch else {
            if records[notice.id] == nil { epochFloors[notice.id] = (floor, now + epochFloorRetention) }
            return .stale
        }
        records[notice.id] = nil
        suspicions[notice.id] = nil
        bucketHashes[DirectoryHash.bucket(of: notice.id)] ^= current.stored.summaryHash
        epochFloors[notice.id] = (floor, now + epochFloorRetention)
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
        let held = record.stored.precedence
        guard held.status == .alive, held.epoch == report.subjectEpoch, held.version <= report.subjectVersion else { return nil }
        if suspicions[report.subject] == nil {
            suspicions[report.subject] = Suspicion(deadline: failsAt)
            record.since = now
            records[report.subject] = record
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
        var removed: [MemberEntry] = []
        for (id, record) in records {
            let retention: Duration
            switch record.stored.status {
            case .alive, .removed: continue
            case .failed: retention = configuration.failedRetention
            case .left: retention = configuration.leftRetention
            }
            guard now.since(record.since) >= retention else { continue }
            removed.append(record.entry)
            records[id] = nil
            suspicions[id] = nil
            bucketHashes[DirectoryHash.bucket(of: id)] ^= record.stored.summaryHash
            epochFloors[id] = (record.stored.epoch, now + epochFloorRetention)
        }
        return removed.sorted { $0.id < $1.id }
    }

    /// The entries of `buckets`, in bucket then id order, as many as fit `byteBudget`.
    func entries(inBuckets buckets: Set<Int>, byteBudget: Int) -> [MemberEntry] {
        var chosen: [MemberEntry] = []
        var bytes = 0
        let wanted = records.filter { buckets.contains(DirectoryHash.bucket(of: $0.key)) }.sorted { $0.key < $1.key }
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
        for (id, record) in records { hashes[DirectoryHash.bucket(of: id)] ^= DirectoryHash.hash(of: record.entry) }
        return hashes
    }
}
