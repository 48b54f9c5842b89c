// The frame decoder on hostile bytes. Decoding must be total (a message or a WireError, never a trap), and every
// message it accepts must survive a round trip: decode(encode(m)) == m, and encode(m) gives back the very bytes
// decoded (the format has one encoding per message; only the header's version byte may differ, since the
// version-independent handshake types decode under any version and encode under the current one).
//
// Input: byte 0 picks where the rest is cut into two appends to one FrameAssembler (0: all in the second,
// 255: all in the first); the rest is a frame stream. The whole input is also decoded as one frame body.
import FuzzSupport
import RumorCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)

    let whole: Result<Message, WireError> = Result { () throws(WireError) in try MessageCodec.decodeBody(UnsafeRawBufferPointer(input)) }
    if case .success(let message) = whole { checkRoundTrip(message, body: input) }

    guard let first = input.first else { return 0 }
    let stream = UnsafeBufferPointer(rebasing: input.dropFirst())
    let split = stream.count * Int(first) / 255
    var assembler = FrameAssembler()
    var position = 0
    assembler.append(stream.prefix(split))
    if drain(&assembler, stream: stream, position: &position) {
        assembler.append(stream.dropFirst(split))
        _ = drain(&assembler, stream: stream, position: &position)
    }
    return 0
}

/// Pulls messages until more bytes are needed (true) or the stream must close (false). `position` follows the
/// assembler through `stream` independently, so each message is checked against the body it came from.
private func drain(_ assembler: inout FrameAssembler, stream: UnsafeBufferPointer<UInt8>, position: inout Int) -> Bool {
    while true {
        do throws(WireError) {
            guard let message = try assembler.nextMessage() else { return true }
            let bodyStart = position + WireFormat.lengthPrefixSize
            guard bodyStart <= stream.count else { fuzzFailure("FrameAssembler returned a message past the end of the stream") }
            let length = stream[position..<bodyStart].reduce(0) { $0 << 8 | Int($1) }
            guard length <= stream.count - bodyStart else {
                fuzzFailure("FrameAssembler returned a \(length)-byte frame with \(stream.count - bodyStart) bytes left")
            }
            let body = UnsafeBufferPointer(rebasing: stream[bodyStart..<bodyStart + length])
            position = bodyStart + length
            let direct: Result<Message, WireError> = Result { () throws(WireError) in try MessageCodec.decodeBody(UnsafeRawBufferPointer(body)) }
            guard direct == .success(message) else {
                fuzzFailure("FrameAssembler gave \(message), decodeBody of the same body gave \(direct)\n  body: \(hex(body))")
            }
            checkRoundTrip(message, body: body)
        } catch {
            return false
        }
    }
}

/// Encodes `message` and decodes it again; with `body`, the bytes it was decoded from, also checks that the
/// encoding gives them back.
private func checkRoundTrip(_ message: Message, body: UnsafeBufferPointer<UInt8>?) {
    // In the version it came in (the set-up frames decode under any), else the newest.
    let frame = MessageCodec.encodeFrame(message, version: body?.first ?? WireFormat.versions.upperBound)
    let expectedSize = MessageCodec.frameSize(of: message)
    guard frame.count == expectedSize else {
        fuzzFailure("frameSize(of:) says \(expectedSize) bytes, encodeFrame wrote \(frame.count) for \(message)")
    }
    let prefix = frame.prefix(WireFormat.lengthPrefixSize).reduce(0) { $0 << 8 | Int($1) }
    let encodedBody = Array(frame.dropFirst(WireFormat.lengthPrefixSize))
    guard prefix == encodedBody.count else {
        fuzzFailure("length prefix \(prefix) for a \(encodedBody.count)-byte body: \(message)")
    }
    let decoded: Message
    do throws(WireError) {
        decoded = try MessageCodec.decodeBody(encodedBody)
    } catch {
        fuzzFailure("ROUND TRIP: re-encoded \(message.type) does not decode (\(error))\n  message: \(message)\n  body: \(hex(encodedBody))")
    }
    guard decoded == message else {
        fuzzFailure("ROUND TRIP: decode(encode(m)) != m\n  m: \(message)\n  decoded: \(decoded)\n  body: \(hex(encodedBody))")
    }
    if let body {
        let expected = Array(body)
        guard encodedBody == expected else {
            fuzzFailure("ROUND TRIP: encode(decode(b)) != b\n  b: \(hex(body))\n  encoded: \(hex(encodedBody))\n  message: \(message)")
        }
    }
}
