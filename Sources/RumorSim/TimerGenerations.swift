import RumorCore

/// Which arming of each node's timers is current: a timer that fires with an older generation was moved or
/// cancelled since, and is ignored. A node has one timer of each kind, so the generations sit in a flat array
/// (hashing timers showed in profiles).
struct TimerGenerations {
    private static let kinds = NodeTimer.allCases.count
    /// Generation per node and timer kind; 0 when not armed (generations start at 1).
    private var generations: [UInt64] = []

    private static func slot(_ timer: NodeTimer) -> Int {
        switch timer {
        case .linkMaintenance: 0
        case .seedRetry: 1
        case .shuffle: 2
        case .graftDue: 3
        case .iHaveBatch: 4
        case .antiEntropy: 5
        case .suspicion: 6
        }
    }

    mutating func addNode() {
        generations.append(contentsOf: repeatElement(0, count: Self.kinds))
    }

    /// Forgets every timer of `node` (it crashed, stopped or restarted).
    mutating func reset(_ node: Int) {
        for slot in 0..<Self.kinds { generations[node * Self.kinds + slot] = 0 }
    }

    subscript(node: Int, timer: NodeTimer) -> UInt64? {
        get {
            let generation = generations[node * Self.kinds + Self.slot(timer)]
            return generation == 0 ? nil : generation
        }
        set {
            precondition(newValue != 0, "timer generations start at 1")
            generations[node * Self.kinds + Self.slot(timer)] = newValue ?? 0
        }
    }
}
