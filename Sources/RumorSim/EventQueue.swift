import RumorCore

/// A 4-ary min-heap of scheduled actions, ordered by time then by scheduling order, so that runs are
/// deterministic. The heap moves only 16-byte keys (time; order and slot packed in one word); the actions
/// (which can carry whole messages) stay put in a slot table, so sifting never copies them. Four children
/// per node halve the levels a pop walks, and pops are most of what a simulation does.
struct EventQueue<Action> {
    struct Item {
        var at: Timestamp
        var order: Int
        var action: Action
    }

    private struct Key {
        var at: UInt64
        /// `order << slotBits | slot`: comparing it compares orders, since two keys never share an order.
        var orderAndSlot: UInt64

        @inline(__always)
        static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.at != rhs.at ? lhs.at < rhs.at : lhs.orderAndSlot < rhs.orderAndSlot
        }
    }

    /// 2^26 actions pending at once and 2^38 scheduled over a run: far beyond a 100,000-node simulation.
    private static var slotBits: UInt64 { 26 }
    private static var slotMask: UInt64 { (1 << slotBits) - 1 }

    private var keys: [Key] = []
    private var slots: [Action?] = []
    private var freeSlots: [Int] = []

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }
    /// When the next action is due, without removing it.
    var nextTime: Timestamp? { keys.first.map { Timestamp(nanoseconds: $0.at) } }

    mutating func push(_ item: Item) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = item.action
        } else {
            slot = slots.count
            slots.append(item.action)
        }
        precondition(UInt64(slot) <= Self.slotMask && item.order >= 0 && UInt64(item.order) < 1 << (64 - Self.slotBits),
                     "event queue capacity exceeded")
        let key = Key(at: item.at.nanoseconds, orderAndSlot: UInt64(item.order) << Self.slotBits | UInt64(slot))
        keys.append(key)
        keys.withUnsafeMutableBufferPointer { heap in
            // Sift up with a hole: parents move down until the new key's place is found.
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) >> 2
                guard key < heap[parent] else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = key
        }
    }

    mutating func pop() -> Item? {
        guard let last = keys.popLast() else { return nil }
        var top = last
        if !keys.isEmpty {
            top = keys[0]
            keys.withUnsafeMutableBufferPointer { heap in
                // Sift the former last key down from the root with a hole.
                let count = heap.count
                var parent = 0
                while true {
                    let first = 4 * parent + 1
                    guard first < count else { break }
                    var smallest = first
                    let end = min(first + 4, count)
                    var child = first + 1
                    while child < end {
                        if heap[child] < heap[smallest] { smallest = child }
                        child += 1
                    }
                    guard heap[smallest] < last else { break }
                    heap[parent] = heap[smallest]
                    parent = smallest
                }
                heap[parent] = last
            }
        }
        let slot = Int(top.orderAndSlot & Self.slotMask)
        let action = slots[slot].take()!
        freeSlots.append(slot)
        return Item(at: Timestamp(nanoseconds: top.at), order: Int(top.orderAndSlot >> Self.slotBits), action: action)
    }
}

/// How long a frame takes on a link. Each link draws its latency once, when it opens, so frames on one
/// link stay in order as TCP keeps them.
public enum LatencyModel: Sendable, Equatable {
    case fixed(Duration)
    case uniform(Duration, Duration)

    func draw<G: RandomNumberGenerator>(using random: inout G) -> Duration {
        switch self {
        case .fixed(let latency): return latency
        case .uniform(let low, let high):
            let span = max(0, (high - low).nanosecondsRounded)
            return low + .nanoseconds(span == 0 ? 0 : Int64.random(in: 0...span, using: &random))
        }
    }
}
