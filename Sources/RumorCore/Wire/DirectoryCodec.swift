/// The byte layout of member entries and directory updates (docs/protocol.md, "Directory"): inside the
/// payload of a GOSSIP on the directory topic, and in DIRECTORY_ENTRIES frames. Tags go in key order, so an
/// entry has one encoding and its size is known before it is written.
public enum DirectoryCodec {
    public static func encodedSize(of entry: MemberEntry) -> Int {
        MessageCodec.size(of: entry.peer) + 8 + 8 + 1 + entry.tags.encodedSize
    }

    public static func encodedSize(of report: FailureReport) -> Int {
        1 + report.subject.rawValue.utf8.count + 8 + 8 + 1 + report.reporter.rawValue.utf8.count + 1
    }

    public static func encodedSize(of update: DirectoryUpdate) -> Int {
        switch update {
        case .entry(let entry): 1 + encodedSize(of: entry)
        case .report(let report): 1 + encodedSize(of: report)
        }
    }

    /// An update as the payload of a directory-topic GOSSIP: a kind byte (1 entry, 2 report), then its fields.
    public static func encode(_ update: DirectoryUpdate) -> [UInt8] {
        let size = encodedSize(of: update)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = ByteWriter(UnsafeMutableRawBufferPointer(buffer))
            switch update {
            case .entry(let entry):
                writer.write(UInt8(1))
                write(entry, into: &writer)
            case .report(let report):
                writer.write(UInt8(2))
                writer.writeString(report.subject.rawValue, lengthAs: UInt8.self)
                writer.write(report.subjectEpoch)
                writer.write(report.subjectVersion)
                writer.writeString(report.reporter.rawValue, lengthAs: UInt8.self)
                writer.write(report.evidence.rawValue)
            }
            initialized = size
        }
    }

    /// Decodes a directory-topic payload; a wrong layout or a broken limit is an error naming the field.
    public static func decodeUpdate(_ payload: [UInt8], limits: DirectoryLimits) throws(WireError) -> DirectoryUpdate {
        let result: Result<DirectoryUpdate, WireError> = payload.withUnsafeBytes { buffer in
            do throws(WireError) {
                var reader = ByteReader(buffer)
                let update = try readUpdate(&reader, limits: limits)
                guard reader.remaining == 0 else { throw .invalidValue(field: "directoryUpdate", detail: "\(reader.remaining) trailing bytes") }
                return .success(update)
            } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func readUpdate(_ reader: inout ByteReader, limits: DirectoryLimits) throws(WireError) -> DirectoryUpdate {
        let kind = try reader.read(UInt8.self, "directoryUpdate.kind")
        switch kind {
        case 1:
            return .entry(try readEntry(&reader, limits: limits))
        case 2:
            let subject = try MessageCodec.readNodeID(&reader, "failureReport.subject")
            let epoch = try reader.read(UInt64.self, "failureReport.subjectEpoch")
            let version = try reader.read(UInt64.self, "failureReport.subjectVersion")
            let reporter = try MessageCodec.readNodeID(&reader, "failureReport.reporter")
            let evidenceByte = try reader.read(UInt8.self, "failureReport.evidence")
            guard let evidence = FailureEvidence(rawValue: evidenceByte) else {
                throw .invalidValue(field: "failureReport.evidence", detail: "unknown evidence \(evidenceByte)")
            }
            return .report(FailureReport(subject: subject, subjectEpoch: epoch, subjectVersion: version, reporter: reporter, evidence: evidence))
        default:
            throw .invalidValue(field: "directoryUpdate.kind", detail: "unknown kind \(kind)")
        }
    }

    static func write(_ entry: MemberEntry, into writer: inout ByteWriter) {
        MessageCodec.write(entry.peer, into: &writer)
        writer.write(entry.epoch)
        writer.write(entry.version)
        writer.write(entry.status.rawValue)
        entry.tags.write(into: &writer)
    }

    static func readEntry(_ reader: inout ByteReader, limits: DirectoryLimits) throws(WireError) -> MemberEntry {
        let start = reader.offset
        let peer = try MessageCodec.readPeer(&reader, "memberEntry.peer")
        let epoch = try reader.read(UInt64.self, "memberEntry.epoch")
        let version = try reader.read(UInt64.self, "memberEntry.version")
        let statusByte = try reader.read(UInt8.self, "memberEntry.status")
        guard let status = MemberStatus(rawValue: statusByte) else {
            throw .invalidValue(field: "memberEntry.status", detail: "unknown status \(statusByte)")
        }
        let tags = try MemberTags.read(&reader, limits: limits)
        let entry = MemberEntry(peer: peer, epoch: epoch, version: version, status: status, tags: tags)
        let entryBytes = reader.offset - start
        guard entryBytes <= limits.maximumEntryBytes else {
            throw .invalidValue(field: "memberEntry", detail: "\(entryBytes) bytes, more than the limit of \(limits.maximumEntryBytes)")
        }
        return entry
    }
}

/// A fixed 64-bit hash for directory summaries: Swift's `Hasher` is seeded per process, and two nodes must
/// agree. FNV-1a over the bytes, then a SplitMix64 finaliser so that XOR-combined hashes stay well mixed.
enum DirectoryHash {
    static func fnv1a<S: Sequence>(_ bytes: S, into hash: inout UInt64) where S.Element == UInt8 {
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
    }

    static func fnv1a(_ value: UInt64, into hash: inout UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            hash ^= (value >> UInt64(shift)) & 0xff
            hash &*= 0x100_0000_01b3
        }
    }

    static func finalize(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The bucket an id's entry lives in, of `DirectoryState.bucketCount`.
    static func bucket(of id: NodeID) -> Int { bucket(ofIDHash: idHash(id.rawValue.utf8)) }

    static func bucket(ofIDHash hash: UInt64) -> Int { Int(hash & UInt64(DirectoryState.bucketCount - 1)) }

    /// An id's hash: its low bits pick its bucket, its high bits its slot in a node's record table.
    static func idHash<Bytes: Sequence<UInt8>>(_ id: Bytes) -> UInt64 {
        var hash = offsetBasis
        fnv1a(id, into: &hash)
        return finalize(hash)
    }

    /// What a summary compares of an entry: its id and precedence. Tags follow from (epoch, version): only
    /// the owner writes them.
    static func hash(of entry: MemberEntry) -> UInt64 {
        hash(id: entry.id.rawValue.utf8, precedence: entry.precedence)
    }

    static func hash<Bytes: Sequence<UInt8>>(id: Bytes, precedence: MemberEntry.Precedence) -> UInt64 {
        var hash = offsetBasis
        fnv1a(id, into: &hash)
        fnv1a(precedence.epoch, into: &hash)
        fnv1a(precedence.version, into: &hash)
        hash ^= UInt64(precedence.status.rawValue)
        hash &*= 0x100_0000_01b3
        return finalize(hash)
    }
}
