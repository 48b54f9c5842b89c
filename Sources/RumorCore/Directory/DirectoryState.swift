/// Every member this node knows of, one entry each, with what this node observed of it: when it last heard of
/// it, since when its status holds, and whether it is suspect. Entries are grouped into `bucketCount` buckets
/// by id, each with the XOR of its entries' hashes, so that two nodes compare directories with one summary,
/// then one hash per bucket, and exchange entries only where buckets differ (D3).
struct DirectoryState {
    static let bucketCount = 256

    struct Record {
        var entry: MemberEntry
        /// The latest evidence of the member: a newer entry from it, or a frame on a link to it.
        var lastSeen: Timestamp
        /// When the entry's status (or suspicion) last changed here.
        var since: Timestamp
        var suspicion: Suspicion?
    }

    /// Reports against a member's current version, by reporter. Any newer entry of the member settles them,
    /// and when it fails unless refuted is kept in `suspicionDeadlines`.
    struct Suspicion: Equatable {
        var reporters: [NodeID: FailureEvidence] = [:]

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
    /// When each suspect fails unless refuted: kept apart from the records so that the suspicion timer is
    /// found in O(suspects), not O(members), on every entry applied.
    private(set) var suspicionDeadlines: [NodeID: Timestamp] = [:]
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
            records[entry.id] = Record(entry: entry, lastSeen: now, since: now)
            epochFloors[entry.id] = nil
            bucketHashes[DirectoryHash.bucket(of: entry.id)] ^= DirectoryHash.hash(of: entry)
            return .added
        }
        guard entry.precedence > current.entry.precedence else { return .stale }
        let bucket = DirectoryHash.bucket(of: entry.id)
        bucketHashes[bucket] ^= DirectoryHash.hash(of: current.entry) ^ DirectoryHash.hash(of: entry)
        var record = current
        record.entry = entry
        record.lastSeen = now
        if entry.status != current.entry.status || entry.epoch != current.entry.epoch || record.suspicion != nil { record.since = now }
        // A newer version, or a verdict, settles every report against the old one.
        record.suspicion = nil
        suspicionDeadlines[entry.id] = nil
        records[entry.id] = record
        return .replaced(previous: current.entry)
    }

    /// A removal notice (D5): the floor rises to its epoch, and a copy of that epoch or older goes.
    private mutating func applyRemoval(_ notice: MemberEntry, at now: Timestamp) -> MergeOutcome {
        let floor = max(notice.epoch, epochFloors[notice.id]?.epoch ?? 0)
        guard let current = records[notice.id], current.entry.epoch <= notice.epoch else {
            if records[notice.id] == nil { epochFloors[notice.id] = (floor, now + epochFloorRetention) }
            return .stale
        }
        records[notice.id] = nil
        suspicionDeadlines[notice.id] = nil
        bucketHashes[DirectoryHash.bucket(of: notice.id)] ^= DirectoryHash.hash(of: current.entry)
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
        guard var record = records[report.subject], record.entry.status == .alive,
              record.entry.epoch == report.subjectEpoch, record.entry.version <= report.subjectVersion else { return nil }
        if record.suspicion == nil {
            record.suspicion = Suspicion()
            record.since = now
            suspicionDeadlines[report.subject] = failsAt
        }
        record.suspicion!.reporters[report.reporter] = report.evidence
        records[report.subject] = record
        return record.suspicion
    }

    /// Suspects whose time ran out, in id order.
    func suspicionsDue(at now: Timestamp) -> [NodeID] {
        suspicionDeadlines.filter { $0.value <= now }.keys.sorted()
    }

    var earliestSuspicionDeadline: Timestamp? {
        suspicionDeadlines.values.min()
    }

    /// Removes tombstones past their time and floors past theirs; returns the entries removed.
    mutating func reap(at now: Timestamp, configuration: DirectoryConfiguration) -> [MemberEntry] {
        epochFloors = epochFloors.filter { $0.value.until > now }
        var removed: [MemberEntry] = []
        for (id, record) in records {
            let retention: Duration
            switch record.entry.status {
            case .alive, .removed: continue
            case .failed: retention = configuration.failedRetention
            case .left: retention = configuration.leftRetention
            }
            guard now.since(record.since) >= retention else { continue }
            removed.append(record.entry)
            records[id] = nil
            suspicionDeadlines[id] = nil
            bucketHashes[DirectoryHash.bucket(of: id)] ^= DirectoryHash.hash(of: record.entry)
            epochFloors[id] = (record.entry.epoch, now + epochFloorRetention)
        }
        return removed.sorted { $0.id < $1.id }
    }

    /// The entries of `buckets`, in bucket then id order, as many as fit `byteBudget`.
    func entries(inBuckets buckets: Set<Int>, byteBudget: Int) -> [MemberEntry] {
        var chosen: [MemberEntry] = []
        var bytes = 0
        let wanted = records.values.filter { buckets.contains(DirectoryHash.bucket(of: $0.entry.id)) }.map(\.entry)
        for entry in wanted.sorted(by: { $0.id < $1.id }) {
            let size = DirectoryCodec.encodedSize(of: entry)
            if bytes + size > byteBudget { break }
            bytes += size
            chosen.append(entry)
        }
        return chosen
    }

    /// The bucket hashes computed afresh, for the invariant checker.
    func recomputedBucketHashes() -> [UInt64] {
        var hashes = [UInt64](repeating: 0, count: Self.bucketCount)
        for record in records.values { hashes[DirectoryHash.bucket(of: record.entry.id)] ^= DirectoryHash.hash(of: record.entry) }
        return hashes
    }
}
