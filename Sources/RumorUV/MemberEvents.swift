import Glibc
import RumorCore

/// A member event as the runtime records it: numbered in the order applied, with the local wall-clock time
/// it was applied (the figure the directory benchmarks read: one host clock for every node on it).
public struct RecordedMemberEvent: Sendable {
    public var sequence: UInt64
    public var event: MemberEvent
    /// Nanoseconds since the Unix epoch when this node applied it.
    public var appliedNanoseconds: UInt64
}

/// Member events as a subscriber reads them: `.record(event)`, or `.lagged(missed:)` after falling behind.
public typealias MemberEventStream = BoundedStream<RecordedMemberEvent>

/// The recent member events of a node, for `/member-events?after=N` (a ring of the last `capacity`), and the
/// live subscribers (`--on-member`, the library's `memberEvents`).
final class MemberEventLog {
    let subscribers = StreamSubscribers<RecordedMemberEvent>()
    private var ring: [RecordedMemberEvent] = []
    private var start = 0
    let capacity: Int
    private(set) var nextSequence: UInt64 = 1

    init(capacity: Int) { self.capacity = capacity }

    func record(_ event: MemberEvent) {
        let recorded = RecordedMemberEvent(sequence: nextSequence, event: event, appliedNanoseconds: WallClock.nanoseconds())
        nextSequence += 1
        if ring.count < capacity {
            ring.append(recorded)
        } else {
            ring[start] = recorded
            start = (start + 1) % capacity
        }
        subscribers.offer(recorded)
    }

    /// Events numbered above `sequence`, oldest first, at most `limit`.
    func after(_ sequence: UInt64, limit: Int) -> [RecordedMemberEvent] {
        let ordered = ring.count < capacity ? ring : Array(ring[start...] + ring[..<start])
        return Array(ordered.drop { $0.sequence <= sequence }.prefix(limit))
    }
}
