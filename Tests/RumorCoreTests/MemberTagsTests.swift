import Testing
@testable import RumorCore

@Suite("Directory storage: tags and entries kept in their wire encoding")
struct MemberTagsTests {
    static let peer = PeerDescriptor(id: NodeID("node-7")!, address: PeerAddress(host: "198.18.0.7", port: 7000))

    @Test("tags built in any order are one value, encoded with keys ascending, and read back key by key")
    func canonical() {
        let forward = MemberTags(["zone": "eu", "role": "db", "rack": "r1"])
        var built = MemberTags()
        built["rack"] = "r1"
        built["zone"] = "eu"
        built["role"] = "db"
        #expect(forward == built)
        #expect(forward.pairs.map(\.key) == ["rack", "role", "zone"])
        #expect(forward["role"] == "db" && forward["missing"] == nil)
        #expect(forward.dictionary == ["zone": "eu", "role": "db", "rack": "r1"])
        #expect(forward.description == "rack=r1,role=db,zone=eu")
        // A count byte, then (1-byte key length, key, 2-byte value length, value) per tag.
        #expect(forward.encodedSize == 1 + 3 * (1 + 4 + 2) + 2 + 2 + 2)
        built["zone"] = nil
        #expect(built.count == 2 && built["zone"] == nil)
        #expect(MemberTags().encodedSize == 1 && MemberTags() == MemberTags([:]))
    }

    @Test("tags the wire cannot carry are kept as given and refused by validation with the key at fault")
    func unencodable() {
        let longKey = String(repeating: "k", count: 300)
        let tags = MemberTags([longKey: "v", "ok": "1"])
        #expect(tags.count == 2 && tags[longKey] == "v")
        #expect(throws: DirectoryError.tagKeyTooLong(key: longKey, limit: 255)) { try DirectoryLimits().validate(tags) }
        #expect(throws: DirectoryError.emptyTagKey) { try DirectoryLimits().validate(MemberTags(["": "x"])) }
        var many = MemberTags()
        for key in 0..<65 { many["k\(key)"] = "v" }
        #expect(throws: DirectoryError.tooManyTagKeys(count: 65, limit: 64)) { try DirectoryLimits().validate(many) }
        #expect(throws: DirectoryError.tagsTooLarge(bytes: 1 + 1 + 3 + 2 + 1100, limit: 1024)) {
            try DirectoryLimits().validate(MemberTags(["big": String(repeating: "x", count: 1100)]))
        }
    }

    @Test("a stored entry reads id, epoch, version and status in place, equal to the decoded entry, and hashes as it")
    func storedEntry() {
        for (status, tags) in [(MemberStatus.alive, MemberTags()), (.failed, ["role": "db", "zone": "eu west"]), (.left, ["é": "ü"])] {
            let entry = MemberEntry(peer: Self.peer, epoch: 1_700_000_123, version: 42, status: status, tags: tags)
            let stored = StoredEntry(entry)
            #expect(stored.entry == entry)
            #expect(stored.id == entry.id && stored.epoch == entry.epoch && stored.version == entry.version && stored.status == status)
            #expect(stored.precedence == entry.precedence)
            #expect(stored.summaryHash == DirectoryHash.hash(of: entry))
            #expect(stored.encodedSize == DirectoryCodec.encodedSize(of: entry))
        }
    }

    @Test("tags decoded from the wire equal the tags they were encoded from, and a tags-only change changes the entry")
    func wireRoundTrip() throws {
        let entry = MemberEntry(peer: Self.peer, epoch: 3, version: 9, status: .alive, tags: ["role": "db", "zone": "eu"])
        let decoded = try DirectoryCodec.decodeUpdate(DirectoryCodec.encode(.entry(entry)), limits: DirectoryLimits())
        #expect(decoded == .entry(entry))
        var retagged = entry
        retagged.tags["zone"] = "us"
        #expect(retagged != entry)
    }
}
