/// A node's links by id: a dictionary's interface over a flat array. A node holds a handful of links (its
/// active view, a few handshakes and probes; at most the runtime's inbound limit), and every frame looks its
/// link up: a linear scan of a few 8-byte ids beats hashing each lookup.
struct LinkTable<Value> {
    private var ids: [LinkID] = []
    private var states: [Value] = []

    var isEmpty: Bool { ids.isEmpty }
    var count: Int { ids.count }
    /// Link ids in the order the links were added.
    var keys: [LinkID] { ids }
    var values: [Value] { states }

    private func position(of link: LinkID) -> Int? {
        ids.withUnsafeBufferPointer { buffer in
            for index in buffer.indices where buffer[index] == link { return index }
            return nil
        }
    }

    subscript(link: LinkID) -> Value? {
        get { position(of: link).map { states[$0] } }
        set {
            switch (position(of: link), newValue) {
            case (let index?, let value?): states[index] = value
            case (let index?, nil): remove(at: index)
            case (nil, let value?):
                ids.append(link)
                states.append(value)
            case (nil, nil): break
            }
        }
    }

    /// Changes the state of `link` in place, if there is such a link; returns whether there was.
    @discardableResult
    mutating func update(_ link: LinkID, _ change: (inout Value) -> Void) -> Bool {
        guard let index = position(of: link) else { return false }
        change(&states[index])
        return true
    }

    @discardableResult
    mutating func removeValue(forKey link: LinkID) -> Value? {
        guard let index = position(of: link) else { return nil }
        let value = states[index]
        remove(at: index)
        return value
    }

    mutating func removeAll() {
        ids.removeAll()
        states.removeAll()
    }

    private mutating func remove(at index: Int) {
        ids.remove(at: index)
        states.remove(at: index)
    }
}
