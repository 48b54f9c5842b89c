/// A set of sequence numbers kept as sorted, disjoint, non-touching ranges: what a digest sends for one
/// origin. Sequences mostly arrive in order and leave oldest first, so the usual insert extends the last
/// range and the usual removal shrinks the first one.
struct SequenceRanges: Equatable {
    private(set) var ranges: [ClosedRange<UInt64>] = []

    var isEmpty: Bool { ranges.isEmpty }

    /// The index of the first range whose upper bound is at least `value`.
    private func firstIndex(reaching value: UInt64) -> Int {
        ranges.partitionPoint { $0.upperBound < value }
    }

    mutating func insert(_ value: UInt64) {
        if let last = ranges.last, last.upperBound < value {
            if last.upperBound &+ 1 == value { ranges[ranges.count - 1] = last.lowerBound...value } else { ranges.append(value...value) }
            return
        }
        let index = firstIndex(reaching: value)
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

    /// Whether every one of `others` lies inside one range of this set.
    func containsAll(_ others: [ClosedRange<UInt64>]) -> Bool {
        for range in others {
            let index = firstIndex(reaching: range.lowerBound)
            guard index < ranges.count, ranges[index].lowerBound <= range.lowerBound, range.upperBound <= ranges[index].upperBound else {
                return false
            }
        }
        return true
    }

    mutating func remove(_ value: UInt64) {
        let index = firstIndex(reaching: value)
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

    /// The parts of `other` (sorted, disjoint ranges) not in this set, in order. Unsorted input (a forged
    /// digest) only makes the result larger: nothing outside this set is ever left out.
    func subtracted(from other: [ClosedRange<UInt64>]) -> [ClosedRange<UInt64>] {
        var result: [ClosedRange<UInt64>] = []
        var index = 0
        for range in other {
            var low = range.lowerBound
            var exhausted = false
            while index < ranges.count, ranges[index].upperBound < low { index += 1 }
            var probe = index
            while !exhausted, probe < ranges.count, ranges[probe].lowerBound <= range.upperBound {
                let held = ranges[probe]
                if held.lowerBound > low { result.append(low...(held.lowerBound - 1)) }
                if held.upperBound >= range.upperBound { exhausted = true } else { low = held.upperBound + 1 }
                probe += 1
            }
            if !exhausted { result.append(low...range.upperBound) }
        }
        return result
    }
}
