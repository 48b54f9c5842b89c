import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

/// The directory's records: a flat table keyed by the id inside each entry, and entries kept in the buffer
/// that brought them, so the nodes of one process share each member's buffer.
@Suite("Directory records: the flat table, shared entry buffers, failed marks", .checkedSimulations)
struct DirectoryRecordTableTests {
    private static func entry(_ member: Int, version: UInt64 = 1) -> StoredEntry {
        StoredEntry(MemberEntry(peer: PeerDescriptor(id: NodeID("m\(member)")!, address: .local(member)), epoch: 1, version: version,
                                status: .alive, tags: ["k": "\(member)"]))
    }

    /// The address of an entry's buffer: equal for two entries that share one.
    private static func bufferAddress(_ stored: StoredEntry) -> UnsafeRawPointer? {
        stored.payload.withUnsafeBytes { $0.baseAddress }
    }

    @Test("10,000 random inserts, replacements and removals: the table holds exactly what a dictionary holds, finds every id and no other")
    func tableMatchesDictionary() {
        var random = SeededRandom(seed: 20)
        var table = RecordTable()
        var model: [NodeID: StoredEntry] = [:]
        for step in 0..<10_000 {
            let member = Int.random(in: 0..<600, using: &random)
            let id = NodeID("m\(member)")!
            if Int.random(in: 0..<3, using: &random) == 0 {
                let removed = table.remove(id)?.stored
                let expected = model.removeValue(forKey: id)
                #expect(removed == expected, "step \(step)")
            } else {
                let stored = Self.entry(member, version: UInt64(step))
                table.upsert(RecordTable.Record(stored: stored, lastSeen: Timestamp(nanoseconds: UInt64(step)), since: .zero))
                model[id] = stored
            }
            #expect(table.count == model.count)
        }
        for member in 0..<700 {
            let id = NodeID("m\(member)")!
            #expect(table[id]?.stored == model[id], "m\(member)")
        }
        let iterated = Dictionary(uniqueKeysWithValues: table.map { ($0.id, $0.stored) })
        #expect(iterated == model)
        #expect(Double(table.count) / Double(table.capacity) <= 0.85)
    }

    @Test("a record is 24 bytes: the shared buffer's reference and two timestamps, the failed mark folded into one")
    func recordSize() {
        #expect(MemoryLayout<RecordTable.Record?>.stride == 24)
    }

    @Test("a failed mark keeps the member's buffer: status, precedence, entry and summary hash say failed, a newer version clears it")
    func failedMark() {
        let alive = Self.entry(7, version: 3)
        var record = RecordTable.Record(stored: alive, lastSeen: Timestamp(nanoseconds: 5), since: .zero)
        let marked = record.markFailed()
        #expect(marked)
        #expect(Self.bufferAddress(record.stored) == Self.bufferAddress(alive))
        var failed = alive.entry
        failed.status = .failed
        #expect(record.status == .failed && record.entry == failed && record.precedence == failed.precedence)
        #expect(record.summaryHash == DirectoryHash.hash(of: failed))
        #expect(record.lastSeen == Timestamp(nanoseconds: 5))
        record.lastSeen = Timestamp(nanoseconds: 9)
        #expect(record.status == .failed && record.lastSeen == Timestamp(nanoseconds: 9))
        let markedAgain = record.markFailed()
        #expect(!markedAgain, "a failed entry is not marked again")
        record.replace(with: Self.entry(7, version: 4))
        #expect(record.status == .alive && record.version == 4)
    }

    @Test("8 simulated nodes: a tag change is held by every node in the owner's own buffer, and a crashed member's failed entry too")
    func buffersShared() {
        var network = directoryOverlay(8, seed: 31)
        let owner = PeerAddress.local(3)
        let id = network.node(at: owner).identity.id
        _ = try? network.setTags(["role": "db"], at: owner)
        network.run(for: .seconds(1))
        let ownBuffer = Self.bufferAddress(network.node(at: owner).directory[id]!.stored)
        for address in network.liveAddresses {
            #expect(Self.bufferAddress(network.node(at: address).directory[id]!.stored) == ownBuffer, "\(address)")
        }
        network.crash(owner)
        network.run(for: .seconds(2))
        for address in network.liveAddresses {
            let record = network.node(at: address).directory[id]!
            #expect(record.status == .failed, "\(address)")
            #expect(Self.bufferAddress(record.stored) == ownBuffer, "\(address) holds a copy of its own")
        }
    }
}
