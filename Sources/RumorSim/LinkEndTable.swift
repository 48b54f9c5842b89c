import RumorCore

/// The simulator's open links by id: open addressing with linear probing and a multiplicative hash. Every
/// frame sent looks its link up here, and the general-purpose dictionary's seeded hashing was a visible share
/// of a whole run. Link ids start at 1, so 0 marks an empty slot.
struct LinkEndTable<Value> {
    private var keys: [UInt64]
    private var values: [Value?]
    private(set) var count = 0

    init() {
        keys = [UInt64](repeating: 0, count: 1024)
        values = [Value?](repeating: nil, count: 1024)
    }

    private var mask: Int { keys.count - 1 }

    @inline(__always)
    private func home(of key: UInt64) -> Int {
        // Fibonacci hashing: consecutive ids spread over the whole table.
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    private func slot(of key: UInt64) -> Int? {
        var index = home(of: key)
        while keys[index] != 0 {
            if keys[index] == key { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    subscript(link: LinkID) -> Value? {
        get { slot(of: link.rawValue).flatMap { values[$0] } }
        set {
            if let newValue { insert(link.rawValue, newValue) } else { removeValue(forKey: link) }
        }
    }

    private mutating func insert(_ key: UInt64, _ value: Value) {
        precondition(key != 0, "link id 0 is reserved")
        if let existing = slot(of: key) {
            values[existing] = value
            return
        }
        if (count + 1) * 4 > keys.count * 3 { grow() }
        var index = home(of: key)
        while keys[index] != 0 { index = (index + 1) & mask }
        keys[index] = key
        values[index] = value
        count += 1
    }

    @discardableResult
    mutating func removeValue(forKey link: LinkID) -> Value? {
        guard var hole = slot(of: link.rawValue) else { return nil }
        let removed = values[hole]
        keys[hole] = 0
        values[hole] = nil
        count -= 1
        // Backward shift: move later entries of the probe run into the hole, so lookups never stop early.
        var next = (hole + 1) & mask
        while keys[next] != 0 {
            let wanted = home(of: keys[next])
            // The entry may move to the hole only if the hole lies on its probe path (cyclically).
            let distanceToHole = (hole - wanted) & mask
            let distanceToNext = (next - wanted) & mask
            if distanceToHole < distanceToNext {
                keys[hole] = keys[next]
                values[hole] = values[next]
                keys[next] = 0
                values[next] = nil
                hole = next
            }
            next = (next + 1) & mask
        }
        return removed
    }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = [UInt64](repeating: 0, count: oldKeys.count * 2)
        values = [Value?](repeating: nil, count: oldKeys.count * 2)
        count = 0
        for index in oldKeys.indices where oldKeys[index] != 0 { insert(oldKeys[index], oldValues[index]!) }
    }

    /// Every link and its value, in link order (deterministic, whatever the table's layout).
    var sortedEntries: [(link: LinkID, value: Value)] {
        keys.indices.filter { keys[$0] != 0 }.map { (LinkID(keys[$0]), values[$0]!) }.sorted { $0.link < $1.link }
    }
}
