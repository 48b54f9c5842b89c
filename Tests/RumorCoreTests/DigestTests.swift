import Testing
@testable import RumorCore

@Suite("Anti-entropy digest: the ranges of ids a node holds")
struct DigestTests {
    /// The ranges a sorted set of numbers forms, computed the slow, obvious way.
    func expectedRanges(_ values: Set<UInt64>) -> [ClosedRange<UInt64>] {
        var result: [ClosedRange<UInt64>] = []
        for value in values.sorted() {
            if let last = result.last, last.upperBound + 1 == value {
                result[result.count - 1] = last.lowerBound...value
            } else {
                result.append(value...value)
            }
        }
        return result
    }

    @Test("Random inserts and removals keep the ranges equal to those of the same set built from scratch")
    func rangesFollowTheSet() {
        var random = SeededRandom(seed: 77)
        var ranges = SequenceRanges()
        var reference: Set<UInt64> = []
        for step in 0..<20_000 {
            let value = UInt64.random(in: 0..<300, using: &random)
            if Bool.random(using: &random) || step < 100 {
                ranges.insert(value)
                reference.insert(value)
            } else {
                ranges.remove(value)
                reference.remove(value)
            }
            if step % 97 == 0 { #expect(ranges.ranges == expectedRanges(reference)) }
        }
        #expect(ranges.ranges == expectedRanges(reference))
    }

    @Test("Sets of none, one and a few ranges (one kept inline, more in an array) answer as the set they hold")
    func smallSetsFollowTheSet() {
        var random = SeededRandom(seed: 78)
        var ranges = SequenceRanges()
        var reference: Set<UInt64> = []
        for _ in 0..<5_000 {
            let value = UInt64.random(in: 0..<6, using: &random)
            if Bool.random(using: &random) {
                ranges.insert(value)
                reference.insert(value)
            } else {
                ranges.remove(value)
                reference.remove(value)
            }
            let expected = expectedRanges(reference)
            #expect(ranges.ranges == expected && ranges.isEmpty == reference.isEmpty)
            #expect(ranges.subtracted(from: [0...5]) == expectedRanges(Set(0...5).subtracting(reference)))
            #expect((0..<6).allSatisfy { ranges.containsAll([$0...$0]) == reference.contains($0) })
        }
    }

    @Test("A cache's digest names exactly the ids it still holds after evictions, per origin in order")
    func digestMatchesHeldIDs() {
        var cache = PayloadCache(maximumCount: 50, maximumBytes: 1 << 20, retention: .seconds(10))
        let origins = [NodeID("b")!, NodeID("a")!]
        var inserted: [MessageID] = []
        for sequence in 0..<40 as Range<UInt64> {
            for origin in origins where sequence % 3 != 1 || origin.rawValue == "a" {
                let id = MessageID(origin: origin, epoch: 1, sequence: sequence)
                _ = cache.insert(id, PayloadCache.Entry(payload: [1], round: 0, sender: nil, storedAt: .zero))
                inserted.append(id)
            }
        }
        let held = inserted.suffix(50)
        let digest = cache.digest(limit: 10)
        #expect(digest.map(\.origin) == [NodeID("a")!, NodeID("b")!])
        for entry in digest {
            let sequences = Set(held.filter { $0.origin == entry.origin }.map(\.sequence))
            #expect(entry.ranges == expectedRanges(sequences))
        }
        _ = cache.expire(at: Timestamp.zero + .seconds(11))
        #expect(cache.digest(limit: 10).isEmpty)
    }
}

@Suite("Anti-entropy digest: what a node asks for")
struct DigestSubtractionTests {
    func ranges(_ pairs: [(UInt64, UInt64)]) -> [ClosedRange<UInt64>] { pairs.map { $0.0...$0.1 } }

    @Test("Subtracting held ranges leaves exactly the ids not held, for every small pair of sets")
    func subtractionMatchesSets() {
        var random = SeededRandom(seed: 9)
        let checker = DigestTests()
        for _ in 0..<2_000 {
            let held = Set((0..<12).filter { _ in Bool.random(using: &random) }.map(UInt64.init))
            let offered = Set((0..<12).filter { _ in Bool.random(using: &random) }.map(UInt64.init))
            var sequences = SequenceRanges()
            for value in held { sequences.insert(value) }
            let left = sequences.subtracted(from: checker.expectedRanges(offered))
            #expect(left == checker.expectedRanges(offered.subtracting(held)))
        }
    }

    @Test("A forged, unsorted list of ranges never loses an id that is not held")
    func unsortedInputKeepsUnheldIDs() {
        var sequences = SequenceRanges()
        for value: UInt64 in [2, 3, 4, 10, 11] { sequences.insert(value) }
        let left = sequences.subtracted(from: ranges([(9, 12), (0, 5), (20, 20)]))
        let leftIDs = Set(left.flatMap { Array($0) })
        #expect(leftIDs.isSuperset(of: [0, 1, 5, 9, 12, 20]))
        #expect(leftIDs.isDisjoint(with: [10, 11]))
    }

    @Test("A digest's range reaching the largest sequence is subtracted without overflow")
    func largestSequence() {
        var sequences = SequenceRanges()
        sequences.insert(UInt64.max)
        sequences.insert(5)
        #expect(sequences.subtracted(from: [0...UInt64.max]) == [0...4, 6...(UInt64.max - 1)])
    }
}

@Suite("GRAFT schedule: one timer for every missing payload")
struct GraftScheduleTests {
    let id = { (sequence: UInt64) in MessageID(origin: NodeID("o")!, epoch: 1, sequence: sequence) }
    let at = { (milliseconds: Int64) in Timestamp.zero + .milliseconds(milliseconds) }

    @Test("Deadlines of both lengths come out in time order; cancelled and moved ones are skipped; the timer is armed only when a deadline is the earliest")
    func dueInOrder() {
        var schedule = GraftSchedule()
        let armsForTheFirst = schedule.schedule(id(1), at: at(80), firstTimeout: true)
        let armsForALaterOne = schedule.schedule(id(2), at: at(90), firstTimeout: true)
        let armsForAnEarlierShortWait = schedule.schedule(id(3), at: at(50), firstTimeout: false)
        let armsForTheLast = schedule.schedule(id(4), at: at(100), firstTimeout: true)
        #expect(armsForTheFirst == at(80) && armsForALaterOne == nil && armsForAnEarlierShortWait == at(50) && armsForTheLast == nil)
        schedule.cancel(id(2))
        let dueAt85 = schedule.takeDue(at: at(85))
        #expect(dueAt85 == [id(3), id(1)])
        let nextAfter85 = schedule.armForEarliest()
        #expect(nextAfter85 == at(100))
        // Moved later: the old entry is stale, the new one counts.
        let armsForTheMove = schedule.schedule(id(4), at: at(140), firstTimeout: false)
        #expect(armsForTheMove == nil)
        let dueAt100 = schedule.takeDue(at: at(100))
        let nextAfter100 = schedule.armForEarliest()
        #expect(dueAt100.isEmpty && nextAfter100 == at(140))
        let dueAt140 = schedule.takeDue(at: at(140))
        let nextAfter140 = schedule.armForEarliest()
        #expect(dueAt140 == [id(4)] && nextAfter140 == nil && schedule.count == 0)
    }

    @Test("A first wait that shrank is held back to the first-wait deadline before it, so the queue stays in time order")
    func shrinkingWaitKeepsDeadlinesInOrder() {
        var schedule = GraftSchedule()
        let armsForTheFirst = schedule.schedule(id(1), at: at(80), firstTimeout: true)
        let armsForAShorterWait = schedule.schedule(id(2), at: at(30), firstTimeout: true)
        #expect(armsForTheFirst == at(80) && armsForAShorterWait == nil, "held back to 80 ms: nothing earlier to arm")
        let dueAt80 = schedule.takeDue(at: at(80))
        #expect(dueAt80 == [id(1), id(2)])
    }
}
