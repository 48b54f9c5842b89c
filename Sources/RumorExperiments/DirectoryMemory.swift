import Glibc
import RumorCore

/// What one directory entry costs in memory (issue 20's goal: at most 256 B with 64 B of tags), measured as
/// the growth of this process's resident memory while many nodes' directories fill. Each node decodes its
/// entries from their wire encoding, as a live node does, so nothing is shared between nodes that a live
/// node would not share. Beside each figure: the entry's wire size, the floor any representation pays.
public enum DirectoryMemory {
    public struct Row: Codable, Sendable {
        /// Members in each directory.
        public var members: Int
        /// Directories filled (enough that tens of megabytes grow, so that page granularity is noise).
        public var directories: Int
        /// Entries stored in all (fewer than directories × members would mean some were refused).
        public var stored: Int
        public var bytesPerEntry: Double
        public var encodedBytesPerEntry: Double
    }

    /// Tags of exactly 64 encoded bytes: four keys of 4 to 7 bytes with values of 8, different per member.
    static func tags(for member: Int) -> MemberTags {
        let digits = String(member % 100_000_000)
        let value = String(repeating: "0", count: 8 - digits.count) + digits
        let tags: MemberTags = ["role": "database", "zone": "eu-" + String(value.suffix(5)), "rack": "r-" + value.suffix(6), "version": value]
        precondition(tags.encodedSize == 64, "the benchmark's tags take \(tags.encodedSize) bytes, not 64")
        return tags
    }

    /// Members with 12-character ids (what a node generates without `--id`) on IPv4 addresses.
    static func encodedEntries(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SeededRandom(seed: seed)
        return (0..<count).map { member in
            let id = NodeID.random(using: &random)
            let address = PeerAddress(host: "198.18.\(member / 250 % 250).\(member % 250 + 1)", port: 7000)
            let entry = MemberEntry(peer: PeerDescriptor(id: id, address: address), epoch: 1_700_000_000 + UInt64(member),
                                    version: UInt64(member % 7 + 1), status: .alive, tags: tags(for: member))
            return DirectoryCodec.encode(.entry(entry))
        }
    }

    public static func measure(sizes: [Int] = [64, 1_000, 10_000, 99_000], entriesPerSize: Int = 400_000) -> [Row] {
        // Every size's nodes live to the end: memory one size freed would otherwise be reused by the next
        // and hide its growth.
        var kept: [[Node]] = []
        defer { withExtendedLifetime(kept) {} }
        return sizes.map { members in
            let encoded = encodedEntries(count: members, seed: UInt64(members))
            let directories = max(1, entriesPerSize / members)
            var nodes = (0..<directories).map { index in
                let identity = PeerDescriptor(id: NodeID("memory-\(index)")!, address: PeerAddress(host: "198.19.0.1", port: 7000))
                return Node(configuration: NodeConfiguration(identity: identity, epoch: 1, seeds: []), randomSeed: UInt64(index))
            }
            let before = residentBytes()
            for index in nodes.indices {
                // Decoded per node: each holds its own copy, as nodes in separate processes do. In small batches,
                // so that the decoded batch, freed afterwards, is not counted as the directory's.
                for start in stride(from: 0, to: encoded.count, by: 256) {
                    let entries = encoded[start..<min(start + 256, encoded.count)].compactMap { bytes -> MemberEntry? in
                        guard case .entry(let entry) = try? DirectoryCodec.decodeUpdate(bytes, limits: DirectoryLimits()) else { return nil }
                        return entry
                    }
                    nodes[index].preloadDirectory(entries)
                }
            }
            let grown = residentBytes() - before
            // Entries of other members only: these nodes never started, so they hold no entry of their own.
            let stored = nodes.reduce(0) { $0 + $1.memberCount - ($1.ownEntry == nil ? 0 : 1) }
            kept.append(nodes)
            let wire = Double(encoded.reduce(0) { $0 + $1.count - 1 }) / Double(members)
            return Row(members: members, directories: directories, stored: stored, bytesPerEntry: Double(grown) / Double(max(1, stored)), encodedBytesPerEntry: wire)
        }
    }

    /// Resident memory from /proc/self/statm (pages in its second field).
    static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var size = 0, resident = 0
        guard withUnsafeMutablePointer(to: &size, { sizePointer in
            withUnsafeMutablePointer(to: &resident) { residentPointer in
                withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
            }
        }) == 2 else { return 0 }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
