import RumorCore
import Testing
@testable import RumorSim

@Suite("Simulator engine: the queue and the link table behave as their plain counterparts")
struct EngineStructureTests {
    @Test("Random inserts, updates and removals leave the link table equal to a dictionary given the same steps")
    func linkTableMatchesDictionary() {
        var random = SeededRandom(seed: 3)
        var table = LinkEndTable<Int>()
        var reference: [LinkID: Int] = [:]
        for step in 0..<200_000 {
            // Keys from a narrow range, so probe runs collide, wrap and shift back often.
            let link = LinkID(UInt64.random(in: 1...5_000, using: &random))
            if Int.random(in: 0..<3, using: &random) == 0 {
                #expect(table.removeValue(forKey: link) == reference.removeValue(forKey: link))
            } else {
                table[link] = step
                reference[link] = step
            }
        }
        #expect(table.count == reference.count)
        for link in (1...5_000).map({ LinkID(UInt64($0)) }) { #expect(table[link] == reference[link]) }
        #expect(table.sortedEntries.map(\.link) == reference.keys.sorted())
    }

    @Test("The event queue pops by time, then in the order things were scheduled")
    func queueOrder() {
        var random = SeededRandom(seed: 4)
        var queue = EventQueue<Int>()
        var expected: [(at: UInt64, order: UInt64)] = []
        for order in 0..<UInt64(3_000) {
            let at = UInt64.random(in: 0..<2_000, using: &random)
            queue.push(.init(at: Timestamp(nanoseconds: at), order: order, action: Int(order)))
            expected.append((at, order))
            // Interleave pops with pushes, as a simulation does.
            if order % 3 == 0, let item = queue.pop() {
                let smallest = expected.indices.min { (expected[$0].at, expected[$0].order) < (expected[$1].at, expected[$1].order) }!
                #expect(item.at.nanoseconds == expected[smallest].at && item.order == expected[smallest].order && item.action == Int(item.order))
                expected.remove(at: smallest)
            }
        }
        var popped: [(UInt64, UInt64)] = []
        while let item = queue.pop() { popped.append((item.at.nanoseconds, item.order)) }
        #expect(popped.map(\.0) == expected.sorted { ($0.at, $0.order) < ($1.at, $1.order) }.map(\.at))
        #expect(popped.map(\.1) == expected.sorted { ($0.at, $0.order) < ($1.at, $1.order) }.map(\.order))
    }
}
