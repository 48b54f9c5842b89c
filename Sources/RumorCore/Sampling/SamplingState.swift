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
    /// When this node last lost an active peer to failure: samples validated before it are served last.
    var lastLossAt = Timestamp.zero
    /// Samples drawn since the last round and not yet replaced by a walk: the next round starts as many.
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
}
