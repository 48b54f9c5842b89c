/// Cuts a byte stream into frames and decodes them: the pure model of what the runtime does with its read
/// buffers, used by tests and by anything that holds a stream in memory.
public struct FrameAssembler: Sendable {
    public let maximumFrameSize: Int
    private var buffer: [UInt8] = []
    private var consumed = 0

    public init(maximumFrameSize: Int = WireFormat.defaultMaximumFrameSize) {
        self.maximumFrameSize = maximumFrameSize
    }

    public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if consumed > 0, consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame's message, `nil` when more bytes are needed, or the error that must close the
    /// stream. The length prefix is checked against the limit before anything of that size is held.
    public mutating func nextMessage() throws(WireError) -> Message? {
        let available = buffer.count - consumed
        guard available >= WireFormat.lengthPrefixSize else { return nil }
        let length = buffer.withUnsafeBytes {
            WireFormat.bodyLength(prefix: UnsafeRawBufferPointer(rebasing: $0[consumed..<consumed + WireFormat.lengthPrefixSize]))
        }
        guard length <= maximumFrameSize else { throw .frameTooLarge(length: length, limit: maximumFrameSize) }
        guard available >= WireFormat.lengthPrefixSize + length else { return nil }
        let start = consumed + WireFormat.lengthPrefixSize
        consumed = start + length
        let result: Result<Message, WireError> = buffer.withUnsafeBytes { bytes in
            do throws(WireError) {
                return .success(try MessageCodec.decodeBody(UnsafeRawBufferPointer(rebasing: bytes[start..<start + length])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
