import RumorCore

/// A 4-ary min-heap of scheduled actions, ordered by time and then by an order key, so that runs are
/// deterministic. The heap moves only small keys (time, order, slot); the actions (which can carry whole
/// messages) stay put in a slot table, so sifting never copies them. Four children per node halve the levels
/// a pop walks, and pops are most of what a simulation does.
/// `package`: the baselines in RumorExperiments schedule their own events with it.
package struct EventQueue<Action> {
    package struct Item {
        package var at: Timestamp
        /// Breaks ties between actions due at the same time; two pending actions never share one.
        package var order: UInt64
        package var action: Action

        package init(at: Timestamp, order: UInt64, action: Action) {
            self.at = at
            self.order = order
            self.action = action
        }
    }

    private struct Key {
        var at: UInt64
        var order: UInt64
        var slot: UInt32

        @inline(__always)
        static func < (lhs: Key, rhs: Key) -> Bool {
            lhs.at != rhs.at ? lhs.at < rhs.at : lhs.order < rhs.order
        }
    }

    private var keys: [Key] = []
    private var slots: [Action?] = []
    private var freeSlots: [UInt32] = []

    package init() {}

    package var isEmpty: Bool { keys.isEmpty }
    package var count: Int { keys.count }
    /// When the next action is due, without removing it.
    package var nextTime: Timestamp? { keys.first.map { Timestamp(nanoseconds: $0.at) } }

    package mutating func push(_ item: Item) {
        let slot: UInt32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(slot)] = item.action
        } else {
            precondition(slots.count < UInt32.max, "event queue capacity exceeded")
            slot = UInt32(slots.count)
            slots.append(item.action)
        }
        let key = Key(at: item.at.nanoseconds, order: item.order, slot: slot)
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

    package mutating func pop() -> Item? {
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
        let action = slots[Int(top.slot)].take()!
        freeSlots.append(top.slot)
        return Item(at: Timestamp(nanoseconds: top.at), order: top.order, action: action)
    }
}

/// How long a frame takes on a link. Each link draws its latency once, when it opens, so frames on one
/// link stay in order as TCP keeps them.
public enum LatencyModel: Sendable, Equatable {
    case fixed(Duration)
    case uniform(Duration, Duration)

    package func draw<G: RandomNumberGenerator>(using random: inout G) -> Duration {
        switch self {
        case .fixed(let latency): return latency
        case .uniform(let low, let high):
            let span = max(0, (high - low).nanosecondsRounded)
            return low + .nanoseconds(span == 0 ? 0 : Int64.random(in: 0...span, using: &random))
        }
    }

    /// The shortest latency a draw can give.
    var minimum: Duration {
        switch self {
        case .fixed(let latency): latency
        case .uniform(let low, let high): min(low, high)
        }
    }
}
