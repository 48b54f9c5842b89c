import RumorCore

/// A binary min-heap of scheduled actions, ordered by time then by scheduling order, so that runs are
/// deterministic.
struct EventQueue<Action> {
    struct Item {
        var at: Timestamp
        var order: Int
        var action: Action
    }

    private var items: [Item] = []

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var first: Item? { items.first }

    private func before(_ a: Int, _ b: Int) -> Bool {
        items[a].at != items[b].at ? items[a].at < items[b].at : items[a].order < items[b].order
    }

    mutating func push(_ item: Item) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Item? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, before(left, smallest) { smallest = left }
            if right < items.count, before(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
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
