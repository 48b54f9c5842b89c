/// An entry as the directory keeps it: its wire encoding (docs/protocol.md, "Member entry") in one buffer,
/// with the fields a merge compares (id, epoch, version, status) read in place. Every node holds every
/// member's entry, so one small allocation per entry instead of a struct of strings and a tag buffer is what
/// keeps an entry with 64 B of tags within 256 B (docs/benchmarks.md, "Directory memory").
struct StoredEntry: Equatable {
    private let bytes: [UInt8]

    /// `entry` was validated against the directory's limits, so it is encodable.
    init(_ entry: MemberEntry) {
        let size = DirectoryCodec.encodedSize(of: entry)
        bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            var writer = ByteWriter(UnsafeMutableRawBufferPointer(buffer))
            DirectoryCodec.write(entry, into: &writer)
            initialized = size
        }
    }

    /// The whole entry, decoded; the bytes were written by `init`, so they decode.
    var entry: MemberEntry {
        let decoded: MemberEntry? = bytes.withUnsafeBytes { buffer in
            var reader = ByteReader(buffer)
            return try? DirectoryCodec.readEntry(&reader, limits: .unchecked)
        }
        guard let decoded else { preconditionFailure("a stored directory entry does not decode") }
        return decoded
    }

    var id: NodeID {
        let length = Int(bytes[0])
        return NodeID(String(decoding: bytes[1 ..< 1 + length], as: UTF8.self))!
    }

    /// Where the epoch starts: after the id, the host (each with a 1-byte length) and the 2-byte port.
    private var epochOffset: Int {
        let hostOffset = 1 + Int(bytes[0])
        return hostOffset + 1 + Int(bytes[hostOffset]) + 2
    }

    private func integer(at offset: Int) -> UInt64 {
        bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }

    var epoch: Epoch { integer(at: epochOffset) }
    var version: UInt64 { integer(at: epochOffset + 8) }
    var status: MemberStatus { MemberStatus(rawValue: bytes[epochOffset + 16]) ?? .alive }

    var precedence: MemberEntry.Precedence {
        let offset = epochOffset
        return MemberEntry.Precedence(epoch: integer(at: offset), version: integer(at: offset + 8),
                                      status: MemberStatus(rawValue: bytes[offset + 16]) ?? .alive)
    }

    /// The hash a bucket combines (`DirectoryHash.hash(of:)`), without decoding the entry.
    var summaryHash: UInt64 {
        DirectoryHash.hash(id: bytes[1 ..< 1 + Int(bytes[0])], precedence: precedence)
    }

    var encodedSize: Int { bytes.count }
}
