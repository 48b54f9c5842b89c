/// An entry as the directory keeps it: in one buffer laid out as the directory topic's payload for it (the
/// update kind byte 1, then the entry as docs/protocol.md, "Member entry", has it), with the fields a merge
/// compares (id, epoch, version, status) read in place. Every node holds every member's entry, so two things
/// keep the directory small: one allocation per entry instead of a struct of strings and a tag buffer (an
/// entry with 64 B of tags within 256 B, docs/benchmarks.md, "Directory memory"), and the payload that
/// brought an entry is kept as it is, so the nodes of one process (the simulator's) share the owner's buffer.
public struct StoredEntry: Equatable, Sendable {
    /// The directory-topic payload: the kind byte, then the entry.
    let payload: [UInt8]
    private static let entryOffset = 1

    /// `entry` was validated against the directory's limits, so it is encodable.
    public init(_ entry: MemberEntry) {
        payload = DirectoryCodec.encode(.entry(entry))
    }

    /// Keeps a directory-topic payload that `DirectoryCodec.decodeUpdate` decoded to an entry.
    init(sharing payload: [UInt8]) {
        assert(payload.first == 1, "not an entry's payload")
        self.payload = payload
    }

    /// The whole entry, decoded; the bytes were written by `init` or decoded before, so they decode.
    public var entry: MemberEntry {
        let decoded: MemberEntry? = payload.withUnsafeBytes { buffer in
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: buffer[Self.entryOffset...]))
            return try? DirectoryCodec.readEntry(&reader, limits: .unchecked)
        }
        guard let decoded else { preconditionFailure("a stored directory entry does not decode") }
        return decoded
    }

    private var idLength: Int { Int(payload[Self.entryOffset]) }
    var idBytes: ArraySlice<UInt8> { payload[Self.entryOffset + 1 ..< Self.entryOffset + 1 + idLength] }

    public var id: NodeID { NodeID(String(decoding: idBytes, as: UTF8.self))! }

    /// Whether this is `id`'s entry, compared in place.
    func isEntry(of id: NodeID) -> Bool {
        var name = id.rawValue
        return name.withUTF8 { $0.count == idLength && $0.elementsEqual(idBytes) }
    }

    func hasSameID(as other: StoredEntry) -> Bool { idBytes.elementsEqual(other.idBytes) }

    /// `DirectoryHash.idHash` of the id, read in place.
    var idHash: UInt64 { DirectoryHash.idHash(idBytes) }

    /// Where the epoch starts: after the id, the host (each with a 1-byte length) and the 2-byte port.
    private var epochOffset: Int {
        let hostOffset = Self.entryOffset + 1 + idLength
        return hostOffset + 1 + Int(payload[hostOffset]) + 2
    }

    private func integer(at offset: Int) -> UInt64 {
        payload.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    var epoch: Epoch { integer(at: epochOffset) }
    var version: UInt64 { integer(at: epochOffset + 8) }
    var status: MemberStatus { MemberStatus(rawValue: payload[epochOffset + 16]) ?? .alive }

    var precedence: MemberEntry.Precedence {
        let offset = epochOffset
        return MemberEntry.Precedence(epoch: integer(at: offset), version: integer(at: offset + 8),
                                      status: MemberStatus(rawValue: payload[offset + 16]) ?? .alive)
    }

    /// The hash a bucket combines (`DirectoryHash.hash(of:)`), without decoding the entry.
    var summaryHash: UInt64 { DirectoryHash.hash(id: idBytes, precedence: precedence) }

    /// The entry's own encoding, without the kind byte.
    var encodedSize: Int { payload.count - Self.entryOffset }
}
