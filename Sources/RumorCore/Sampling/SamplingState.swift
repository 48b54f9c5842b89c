/// The sampling service's state (docs/sampling.md): the reservoir of validated samples, the walks in
/// flight, and the last failure seen. Pure: the node feeds it times and draws; it decides nothing about
/// links.
struct SamplingState: Equatable {
    struct Walk: Equatable {
        var nonce: UInt64
        var startedAt: Timestamp
    }

    var reservoir: SampleReservoir
    /// Walks this node started and has not heard back from; at most `maximumOutstandingWalks`.
    private(set) var outstanding: [Walk] = []
    /// When this node last lost an active peer to failure: samples from walks started before it are served last.
    var lastLossAt = Timestamp.zero
    /// Samples drawn and not yet replaced by a walk (the in-flight limit held them back): the next round
    /// starts them. At most a reservoir's worth.
    var owedWalks = 0

    init(_ configuration: SamplingConfiguration) {
        reservoir = SampleReservoir(capacity: configuration.reservoirSize)
    }

    mutating func started(_ nonce: UInt64, at now: Timestamp) {
        outstanding.append(Walk(nonce: nonce, startedAt: now))
    }

    /// The walk of this node's in flight that `nonce` names, if any; it is then no longer outstanding.
    mutating func answered(_ nonce: UInt64) -> Walk? {
        guard let index = outstanding.firstIndex(where: { $0.nonce == nonce }) else { return nil }
        return outstanding.remove(at: index)
    }

    /// Forgets the walks started more than `timeout` before `now`; returns how many.
    mutating func expireWalks(olderThan timeout: Duration, at now: Timestamp) -> Int {
        let before = outstanding.count
        outstanding.removeAll { now.since($0.startedAt) > timeout }
        return before - outstanding.count
    }

    /// How many walks to start so that `wanted` more samples are on their way, within `limit` in flight.
    func walksToStart(wanted: Int, limit: Int) -> Int {
        max(0, min(wanted, limit - outstanding.count))
    }

    /// The bytes this state holds: its arrays' elements at their stride, their headers, and the heap storage
    /// of any id or host too long to sit inline in its string (more than 15 UTF-8 bytes). Within a few words
    /// of what the allocator hands out; the simulator reports it per node (docs/benchmarks.md).
    var footprintBytes: Int {
        let arrayHeader = 32
        func heapBytes(_ text: String) -> Int { text.utf8.count > 15 ? 32 + text.utf8.count : 0 }
        let strings = reservoir.entries.reduce(0) { $0 + heapBytes($1.peer.id.rawValue) + heapBytes($1.peer.address.host) }
        return MemoryLayout<SamplingState>.size + 2 * arrayHeader
            + reservoir.capacity * MemoryLayout<SampleReservoir.Entry>.stride + strings
            + outstanding.count * MemoryLayout<Walk>.stride
    }
}
