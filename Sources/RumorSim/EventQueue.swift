import RumorCore

/// A binary min-heap of scheduled actions, ordered by time then by scheduling order, so that runs are
/// deterministic. The heap moves only small keys; the actions (which can carry whole messages) stay put in
/// a slot table, so sifting never copies them.
struct EventQueue<Action> {
    struct Item {
        var at: Timestamp
        var order: Int
        var action: Action
    }

    private struct Key {
        var at: UInt64
        var order: Int
        var slot: Int
    }

    private var keys: [Key] = []
    private var slots: [Action?] = []
    private var freeSlots: [Int] = []

    var isEmpty: Bool { keys.isEmpty }
    var count: Int { keys.count }
    /// When the next action is due, without removing it.
    var nextTime: Timestamp? { keys.first.map { Timestamp(nanoseconds: $0.at) } }

    private func before(_ a: Int, _ b: Int) -> Bool {
        keys[a].at != keys[b].at ? keys[a].at < keys[b].at : keys[a].order < keys[b].order
    }

    mutating func push(_ item: Item) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = item.action
        } else {
            slot = slots.count
            slots.append(item.action)
        }
        keys.append(Key(at: item.at.nanoseconds, order: item.order, slot: slot))
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(child, parent) else { break }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Item? {
        guard !keys.isEmpty else { return nil }
        keys.swapAt(0, keys.count - 1)
        let top = keys.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < keys.count, before(left, smallest) { smallest = left }
            if right < keys.count, before(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            keys.swapAt(parent, smallest)
            parent = smallest
        }
        let action = slots[top.slot].take()!
        freeSlots.append(top.slot)
        return Item(at: Timestamp(nanoseconds: top.at), order: top.order, action: action)
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
