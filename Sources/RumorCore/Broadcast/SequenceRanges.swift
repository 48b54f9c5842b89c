/// A set of sequence numbers kept as sorted, disjoint, non-touching ranges: what a digest sends for one
/// origin. Sequences mostly arrive in order and leave oldest first, so the usual insert extends the last
/// range and the usual removal shrinks the first one.
///
/// One range is kept inline, and only a set that needs two or more ranges puts them in an array: a node
/// keeps one of these per origin it has payloads from, most of them one range long, and at 100,000
/// simulated nodes an array each was about a fifth of the simulator's memory.
struct SequenceRanges: Equatable {
    /// The only range, while `spilled` is empty.
    private var single: ClosedRange<UInt64>?
    /// Every range, once more than one was needed (kept until the set is empty again).
    private var spilled: [ClosedRange<UInt64>] = []

    var isEmpty: Bool { single == nil && spilled.isEmpty }

    var ranges: [ClosedRange<UInt64>] {
        spilled.isEmpty ? (single.map { [$0] } ?? []) : spilled
    }

    static func == (lhs: SequenceRanges, rhs: SequenceRanges) -> Bool { lhs.ranges == rhs.ranges }

    mutating func insert(_ value: UInt64) {
        if spilled.isEmpty {
            guard let range = single else {
                single = value...value
                return
            }
            if range.contains(value) { return }
            if range.upperBound &+ 1 == value {
                single = range.lowerBound...value
                return
            }
            if value &+ 1 == range.lowerBound {
                single = value...range.upperBound
                return
            }
            spilled = [range]
            single = nil
        }
        Self.insert(value, into: &spilled)
    }

    mutating func remove(_ value: UInt64) {
        if spilled.isEmpty {
            guard let range = single, range.contains(value) else { return }
            switch (range.lowerBound == value, range.upperBound == value) {
            case (true, true): single = nil
            case (true, false): single = (value + 1)...range.upperBound
            case (false, true): single = range.lowerBound...(value - 1)
            case (false, false):
                spilled = [range.lowerBound...(value - 1), (value + 1)...range.upperBound]
                single = nil
            }
            return
        }
        Self.remove(value, from: &spilled)
        if spilled.isEmpty { spilled = [] }  // frees the array: the next range goes inline again
    }

    /// Whether every one of `others` lies inside one range of this set.
    func containsAll(_ others: [ClosedRange<UInt64>]) -> Bool {
        if spilled.isEmpty {
            guard let single else { return others.isEmpty }
            return others.allSatisfy { single.lowerBound <= $0.lowerBound && $0.upperBound <= single.upperBound }
        }
        for range in others {
            let index = Self.firstIndex(in: spilled, reaching: range.lowerBound)
            guard index < spilled.count, spilled[index].lowerBound <= range.lowerBound, range.upperBound <= spilled[index].upperBound else {
                return false
            }
        }
        return true
    }

    /// The parts of `other` (sorted, disjoint ranges) not in this set, in order. Unsorted input (a forged
    /// digest) only makes the result larger: nothing outside this set is ever left out.
    func subtracted(from other: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
        if spilled.isEmpty {
            guard let single else { return other }
            return Self.subtract(CollectionOfOne(single), from: other)
        }
        return Self.subtract(spilled, from: other)
    }

    // MARK: Two or more ranges

    /// The index of the first range whose upper bound is at least `value`.
    private static func firstIndex(in ranges: [ClosedRange<UInt64>], reaching value: UInt64) -> Int {
        ranges.partitionPoint { $0.upperBound < value }
    }

    private static func insert(_ value: UInt64, into ranges: inout [ClosedRange<UInt64>]) {
        if let last = ranges.last, last.upperBound < value {
            if last.upperBound &+ 1 == value { ranges[ranges.count - 1] = last.lowerBound...value } else { ranges.append(value...value) }
            return
        }
        let index = firstIndex(in: ranges, reaching: value)
        if index < ranges.count, ranges[index].contains(value) { return }
        let joinsPrevious = index > 0 && ranges[index - 1].upperBound &+ 1 == value
        let joinsNext = index < ranges.count && value &+ 1 == ranges[index].lowerBound
        switch (joinsPrevious, joinsNext) {
        case (true, true):
            ranges[index - 1] = ranges[index - 1].lowerBound...ranges[index].upperBound
            ranges.remove(at: index)
        case (true, false):
            ranges[index - 1] = ranges[index - 1].lowerBound...value
        case (false, true):
            ranges[index] = value...ranges[index].upperBound
        case (false, false):
            ranges.insert(value...value, at: index)
        }
    }

    private static func remove(_ value: UInt64, from ranges: inout [ClosedRange<UInt64>]) {
        let index = firstIndex(in: ranges, reaching: value)
        guard index < ranges.count, ranges[index].contains(value) else { return }
        let range = ranges[index]
        switch (range.lowerBound == value, range.upperBound == value) {
        case (true, true):
            ranges.remove(at: index)
        case (true, false):
            ranges[index] = (value + 1)...range.upperBound
        case (false, true):
            ranges[index] = range.lowerBound...(value - 1)
        case (false, false):
            ranges[index] = range.lowerBound...(value - 1)
            ranges.insert((value + 1)...range.upperBound, at: index + 1)
        }
    }

    private static func subtract<Held: RandomAccessCollection<ClosedRange<UInt64>>>(
        _ held: Held, from other: [ClosedRange<UInt64>]
    ) -> [ClosedRange<UInt64>] where Held.Index == Int {
        var result: [ClosedRange<UInt64>] = []
        var index = held.startIndex
        for range in other {
            var low = range.lowerBound
            var exhausted = false
            while index < held.endIndex, held[index].upperBound < low { index += 1 }
            var probe = index
            while !exhausted, probe < held.endIndex, held[probe].lowerBound <= range.upperBound {
                let kept = held[probe]
                if kept.lowerBound > low { result.append(low...(kept.lowerBound - 1)) }
                if kept.upperBound >= range.upperBound { exhausted = true } else { low = kept.upperBound + 1 }
                probe += 1
            }
            if !exhausted { result.append(low...range.upperBound) }
        }
        return result
    }
}
