import RumorCore

/// Which arming of each node's timers is current: a timer that fires with an older generation was moved or
/// cancelled since, and is ignored. The five periodic timers sit in a flat array (they are most of all
/// timer events, and hashing them showed in profiles); timers named after a link or a message go in a
/// dictionary per node.
struct TimerGenerations {
    private static let periodicKinds = 5
    /// Generation per node and periodic timer; 0 when not armed (generations start at 1).
    private var periodic: [Int] = []
    private var keyed: [[NodeTimer: Int]] = []

    private static func periodicSlot(_ timer: NodeTimer) -> Int? {
        switch timer {
        case .linkMaintenance: 0
        case .seedRetry: 1
        case .shuffle: 2
        case .iHaveBatch: 3
        case .antiEntropy: 4
        case .handshakeDeadline, .graft: nil
        }
    }

    mutating func addNode() {
        periodic.append(contentsOf: repeatElement(0, count: Self.periodicKinds))
        keyed.append([:])
    }

    /// Forgets every timer of `node` (it crashed, stopped or restarted).
    mutating func reset(_ node: Int) {
        for slot in 0..<Self.periodicKinds { periodic[node * Self.periodicKinds + slot] = 0 }
        keyed[node] = [:]
    }

    subscript(node: Int, timer: NodeTimer) -> Int? {
        get {
            if let slot = Self.periodicSlot(timer) {
                let generation = periodic[node * Self.periodicKinds + slot]
                return generation == 0 ? nil : generation
            }
            return keyed[node][timer]
        }
        set {
            if let slot = Self.periodicSlot(timer) {
                precondition(newValue != 0, "timer generations start at 1")
                periodic[node * Self.periodicKinds + slot] = newValue ?? 0
            } else {
                keyed[node][timer] = newValue
            }
        }
    }
}
