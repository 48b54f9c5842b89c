/// A fuzz input read front to back. Every read is total: near the end it returns what is left (or nil when
/// nothing is), so any byte string is a valid input.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var offset = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var remaining: Int { bytes.count - offset }
    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Up to `count` bytes: fewer at the end of the input.
    public mutating func take(upTo count: Int) -> ArraySlice<UInt8> {
        let end = offset + min(max(count, 0), remaining)
        defer { offset = end }
        return bytes[offset..<end]
    }

    /// A big-endian integer, or nil (consuming the rest) when too few bytes are left.
    public mutating func bigEndian<T: FixedWidthInteger>(_: T.Type) -> T? {
        let size = MemoryLayout<T>.size
        guard remaining >= size else {
            offset = bytes.count
            return nil
        }
        defer { offset += size }
        return bytes[offset..<offset + size].reduce(0) { $0 << 8 | T($1) }
    }

    /// A chunk: a 2-byte big-endian length, then up to that many bytes. Nil once the input is exhausted.
    public mutating func chunk() -> ArraySlice<UInt8>? {
        guard let length = bigEndian(UInt16.self) else { return nil }
        return take(upTo: Int(length))
    }

    /// Everything not read yet.
    public mutating func rest() -> ArraySlice<UInt8> {
        take(upTo: remaining)
    }
}

/// Builds inputs in `FuzzInput`'s shapes, for the seed corpora.
public struct FuzzInputBuilder {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func byte(_ value: UInt8) {
        bytes.append(value)
    }

    public mutating func append(_ values: some Sequence<UInt8>) {
        bytes.append(contentsOf: values)
    }

    public mutating func bigEndian<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        for index in 0..<size {
            bytes.append(UInt8(truncatingIfNeeded: value >> (8 * (size - 1 - index))))
        }
    }

    public mutating func chunk(_ values: some Collection<UInt8>) {
        precondition(values.count <= Int(UInt16.max), "a chunk holds at most 65,535 bytes")
        bigEndian(UInt16(values.count))
        append(values)
    }
}

/// Lowercase hex, for failure messages.
public func hex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

/// Stops the fuzzer on a broken invariant: prints what broke, then traps (libFuzzer saves the input).
public func fuzzFailure(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError("FUZZ INVARIANT BROKEN: \(message)", file: file, line: line)
}
