/// When each missing payload is next asked for with GRAFT, behind one node timer armed for the earliest.
/// Deadlines come in two kinds (the first wait and the shorter wait for the next announcer), each kind kept
/// in time order (a first wait that shrank is held back to the deadline before it), so two first-in-first-out
/// queues hold them sorted without a heap. A cancelled or moved deadline leaves a stale queue entry behind,
/// skipped when it comes up.
struct GraftSchedule {
    private var due: [MessageID: (at: Timestamp, firstTimeout: Bool)] = [:]
    private var firstWaits = FIFOQueue<(id: MessageID, at: Timestamp)>()
    private var laterWaits = FIFOQueue<(id: MessageID, at: Timestamp)>()
    /// When the node's GRAFT timer is armed to fire; nil when it is not armed.
    private var armedAt: Timestamp?

    var count: Int { due.count }

    func isScheduled(_ id: MessageID) -> Bool { due[id] != nil }

    /// Whether `id` still waits for its first GRAFT: none was sent for it since its first announcement.
    func awaitsFirstGraft(_ id: MessageID) -> Bool { due[id]?.firstTimeout == true }

    /// Schedules `id` at `at`, or at the deadline of its kind scheduled last if that is later (which keeps the
    /// queue sorted); returns the deadline when the node's timer must be armed for it (nothing earlier is
    /// armed), nil otherwise.
    mutating func schedule(_ id: MessageID, at requested: Timestamp, firstTimeout: Bool) -> Timestamp? {
        let queued = firstTimeout ? firstWaits.last?.at : laterWaits.last?.at
        let at = max(requested, queued ?? requested)
        due[id] = (at, firstTimeout)
        if firstTimeout { firstWaits.append((id, at)) } else { laterWaits.append((id, at)) }
        guard armedAt.map({ at < $0 }) ?? true else { return nil }
        armedAt = at
        return at
    }

    /// The payload came (or is no longer wanted): no GRAFT for it.
    mutating func cancel(_ id: MessageID) { due[id] = nil }

    /// The timer fired: every id whose deadline has come, earliest first.
    mutating func takeDue(at now: Timestamp) -> [MessageID] {
        armedAt = nil
        var taken: [MessageID] = []
        while true {
            dropStale()
            let first = firstWaits.first.flatMap { $0.at <= now ? $0 : nil }
            let later = laterWaits.first.flatMap { $0.at <= now ? $0 : nil }
            guard first != nil || later != nil else { return taken }
            let takeFirst = later == nil || (first != nil && first!.at <= later!.at)
            let next = takeFirst ? firstWaits.removeFirst()! : laterWaits.removeFirst()!
            due[next.id] = nil
            taken.append(next.id)
        }
    }

    /// The earliest deadline still scheduled, which the timer is now armed for; nil when none is left.
    mutating func armForEarliest() -> Timestamp? {
        dropStale()
        let earliest = [firstWaits.first?.at, laterWaits.first?.at].compactMap { $0 }.min()
        armedAt = earliest
        return earliest
    }

    /// Pops queue heads whose deadline is no longer the id's current one.
    private mutating func dropStale() {
        while let head = firstWaits.first, !isCurrent(head, firstTimeout: true) { _ = firstWaits.removeFirst() }
        while let head = laterWaits.first, !isCurrent(head, firstTimeout: false) { _ = laterWaits.removeFirst() }
    }

    private func isCurrent(_ entry: (id: MessageID, at: Timestamp), firstTimeout: Bool) -> Bool {
        due[entry.id].map { $0.at == entry.at && $0.firstTimeout == firstTimeout } ?? false
    }
}
