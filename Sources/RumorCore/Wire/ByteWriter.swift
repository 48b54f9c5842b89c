/// Writes big-endian fields into memory the caller sized exactly with `MessageCodec.bodySize(of:)`.
/// Raw pointers here let the runtime encode straight into its outbound buffer with no intermediate copy.
@usableFromInline
struct ByteWriter {
    @usableFromInline var cursor: UnsafeMutableRawPointer
    @usableFromInline let end: UnsafeMutableRawPointer

    @usableFromInline
    init(_ buffer: UnsafeMutableRawBufferPointer) {
        cursor = buffer.baseAddress!
        end = cursor + buffer.count
    }

    @inlinable
    mutating func write(_ value: UInt8) {
        assert(cursor < end, "ByteWriter overran the size computed for the message")
        cursor.storeBytes(of: value, as: UInt8.self)
        cursor += 1
    }

    @inlinable
    mutating func write<T: FixedWidthInteger>(_ value: T) {
        assert(cursor + MemoryLayout<T>.size <= end, "ByteWriter overran the size computed for the message")
        // storeBytes(toByteOffset:) tolerates any alignment.
        cursor.storeBytes(of: value.bigEndian, toByteOffset: 0, as: T.self)
        cursor += MemoryLayout<T>.size
    }

    @inlinable
    mutating func write(bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        assert(cursor + bytes.count <= end, "ByteWriter overran the size computed for the message")
        cursor.copyMemory(from: source, byteCount: bytes.count)
        cursor += bytes.count
    }

    @inlinable
    mutating func write(bytes: [UInt8]) {
        bytes.withUnsafeBytes { write(bytes: $0) }
    }

    /// A string with a length prefix of `T`'s width; the caller checked that it fits.
    @inlinable
    mutating func writeString<T: FixedWidthInteger>(_ string: String, lengthAs _: T.Type) {
        var copy = string
        copy.withUTF8 { utf8 in
            write(T(utf8.count))
            write(bytes: UnsafeRawBufferPointer(utf8))
        }
    }
}

/// Reads big-endian fields from one frame body, never past its end; every failure names the field.
@usableFromInline
struct ByteReader {
    @usableFromInline let buffer: UnsafeRawBufferPointer
    @usableFromInline var offset = 0

    @usableFromInline
    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    @inlinable
    var remaining: Int { buffer.count - offset }

    @inlinable
    mutating func require(_ count: Int, for field: StaticString) throws(WireError) {
        guard count <= remaining else {
            throw .truncated(field: field.description, needed: count, available: remaining)
        }
    }

    @inlinable
    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: StaticString) throws(WireError) -> T {
        try require(MemoryLayout<T>.size, for: field)
        let value = buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(bigEndian: value)
    }

    @inlinable
    mutating func readBool(_ field: StaticString) throws(WireError) -> Bool {
        switch try read(UInt8.self, field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidValue(field: field.description, detail: "\(other) is not a boolean (0 or 1)")
        }
    }

    @inlinable
    mutating func readBytes(count: Int, _ field: StaticString) throws(WireError) -> [UInt8] {
        try require(count, for: field)
        let bytes = [UInt8](UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count]))
        offset += count
        return bytes
    }

    @inlinable
    mutating func readString<T: FixedWidthInteger>(lengthAs _: T.Type, _ field: StaticString) throws(WireError) -> String {
        let length = Int(try read(T.self, field))
        try require(length, for: field)
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length]).assumingMemoryBound(to: UInt8.self)
        // Decoding repairs bad UTF-8 with U+FFFD, so the bytes survive unchanged exactly when they were valid.
        // (String(validating:) is generic at run time and costs more than this on the hot path.)
        let string = String(decoding: bytes, as: UTF8.self)
        guard string.utf8.count == length, string.utf8.elementsEqual(bytes) else {
            throw .invalidUTF8(field: field.description)
        }
        offset += length
        return string
    }

    /// A count of elements that will follow, checked against the bytes left so that a forged count never
    /// makes the decoder reserve more than the frame holds.
    @inlinable
    mutating func readCount(minimumElementSize: Int, _ field: StaticString) throws(WireError) -> Int {
        let count = Int(try read(UInt16.self, field))
        try require(count * minimumElementSize, for: field)
        return count
    }
}
