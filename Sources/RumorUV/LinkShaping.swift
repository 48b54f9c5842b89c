import RumorCore

/// Applies `LinkConditions` to the frames a node receives, for test meshes: each frame from a peer is
/// dropped with the link's loss, or handed to the core after the link's delay. Conditions are set for all
/// links (the default) or per peer address; a peer whose frames are all dropped (`loss == 1`) is cut off,
/// which is how meshes on one machine make partitions. Frames of one link are never reordered, and a
/// link's closing waits behind the frames still held for it, as on a real slow link.
final class LinkShaping {
    enum Held {
        case frame(Message)
        case closed(reason: String)
    }

    private struct Entry {
        var due: UInt64
        var order: UInt64
        var link: LinkID
        var held: Held
    }

    private(set) var defaultConditions: LinkConditions
    private(set) var overrides: [PeerAddress: LinkConditions] = [:]
    private var random: SeededRandom
    /// A min-heap by (due, order): one per runtime, since each link's dues never go down.
    private var heap: [Entry] = []
    private var nextOrder: UInt64 = 0
    private var lastDue: [LinkID: UInt64] = [:]
    private var heldPerLink: [LinkID: Int] = [:]
    private(set) var dropped: UInt64 = 0
    /// Frames held at most: reading goes on while frames wait, so a long delay on a busy link must not
    /// grow without bound (frames beyond are dropped, as a full router queue would).
    let maximumHeldFrames = 100_000

    init(defaultConditions: LinkConditions, seed: UInt64) {
        self.defaultConditions = defaultConditions
        self.random = SeededRandom(seed: seed ^ 0x11_4C)
    }

    /// True when nothing is shaped: frames go straight to the core.
    var isIdle: Bool { defaultConditions.isUnchanged && overrides.isEmpty && heap.isEmpty }

    func conditions(for peer: PeerAddress?) -> LinkConditions {
        peer.flatMap { overrides[$0] } ?? defaultConditions
    }

    func set(_ conditions: LinkConditions, for peers: [PeerAddress]?) {
        guard let peers else {
            defaultConditions = conditions
            return
        }
        for peer in peers { overrides[peer] = conditions }
    }

    /// Back to the default for these peers, or for every peer.
    func reset(_ peers: [PeerAddress]?) {
        guard let peers else {
            overrides.removeAll()
            return
        }
        for peer in peers { overrides.removeValue(forKey: peer) }
    }

    enum Verdict {
        case deliverNow
        case held
        case dropped
    }

    /// What to do with a frame that arrived now on `link` from `peer`.
    func admit(_ message: Message, on link: LinkID, from peer: PeerAddress?, now: UInt64) -> Verdict {
        let conditions = conditions(for: peer)
        if conditions.drops(using: &random) {
            dropped += 1
            return .dropped
        }
        let delay = UInt64(max(0, conditions.delay(using: &random).nanosecondsRounded))
        if delay == 0, heldPerLink[link, default: 0] == 0 { return .deliverNow }
        guard heap.count < maximumHeldFrames else {
            dropped += 1
            return .dropped
        }
        hold(.frame(message), on: link, due: now &+ delay)
        return .held
    }

    /// Whether a link's closing must wait behind frames still held; if so it is held too.
    func holdClosing(of link: LinkID, reason: String) -> Bool {
        guard heldPerLink[link, default: 0] > 0 else { return false }
        hold(.closed(reason: reason), on: link, due: lastDue[link] ?? 0)
        return true
    }

    private func hold(_ held: Held, on link: LinkID, due proposed: UInt64) {
        let due = max(proposed, lastDue[link] ?? 0)
        lastDue[link] = due
        heldPerLink[link, default: 0] += 1
        heap.append(Entry(due: due, order: nextOrder, link: link, held: held))
        nextOrder += 1
        siftUp(heap.count - 1)
    }

    /// When the next held frame is due, if any.
    var nextDue: UInt64? { heap.first?.due }

    /// Removes and returns the next held item if it is due by `now`.
    func takeDue(now: UInt64) -> (LinkID, Held)? {
        guard let first = heap.first, first.due <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        let remaining = heldPerLink[first.link, default: 1] - 1
        if remaining == 0 {
            heldPerLink.removeValue(forKey: first.link)
            lastDue.removeValue(forKey: first.link)
        } else {
            heldPerLink[first.link] = remaining
        }
        return (first.link, first.held)
    }

    private func before(_ a: Int, _ b: Int) -> Bool { (heap[a].due, heap[a].order) < (heap[b].due, heap[b].order) }

    private func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard before(child, parent) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, before(left + 1, left) { smallest = left + 1 }
            guard before(smallest, parent) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
