import Testing
@testable import RumorCore

@Suite("Wire codec")
struct MessageCodecTests {
    @Test("every message type survives a round trip through a frame, for random field values",
          arguments: MessageType.allCases)
    func roundTrip(type: MessageType) throws {
        var generator = MessageGenerator(seed: 0xC0DEC + UInt64(type.rawValue))
        for _ in 0..<500 {
            let message = generator.message(of: type)
            let frame = MessageCodec.encodeFrame(message)
            #expect(frame.count == MessageCodec.frameSize(of: message))
            var assembler = FrameAssembler()
            assembler.append(frame)
            let decoded = try assembler.nextMessage()
            #expect(decoded == message)
            #expect(try assembler.nextMessage() == nil)
        }
    }

    @Test("frames arriving one byte at a time come out whole and in order")
    func byteByByteStream() throws {
        var generator = MessageGenerator(seed: 7)
        let messages = (0..<200).map { _ in generator.anyMessage() }
        let stream = messages.flatMap { MessageCodec.encodeFrame($0) }
        var assembler = FrameAssembler()
        var decoded: [Message] = []
        for byte in stream {
            assembler.append(CollectionOfOne(byte))
            while let message = try assembler.nextMessage() { decoded.append(message) }
        }
        #expect(decoded == messages)
    }

    @Test("a length prefix over the limit is refused before the frame's bytes are awaited")
    func oversizedLengthPrefix() {
        var assembler = FrameAssembler(maximumFrameSize: 1024)
        assembler.append([0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: WireError.frameTooLarge(length: 0x7FFF_FFFF, limit: 1024)) { try assembler.nextMessage() }
    }

    @Test("a frame of another protocol version is a version error, except the frozen handshake frames")
    func versionMismatch() throws {
        var body = MessageCodec.encodeBody(.keepAlive)
        body[0] = 9
        #expect(throws: WireError.unsupportedVersion(received: 9, supported: WireFormat.versions)) {
            try MessageCodec.decodeBody(body)
        }
        // A node offering fewer versions reads fewer: a version-4 KEEPALIVE is foreign to a version-3 reader.
        #expect(throws: WireError.unsupportedVersion(received: 4, supported: 3...3)) {
            try MessageCodec.decodeBody(MessageCodec.encodeBody(.keepAlive, version: 4), accepting: 3...3)
        }
        #expect(try MessageCodec.decodeBody(MessageCodec.encodeBody(.keepAlive, version: 3), accepting: 3...3) == .keepAlive)
        // What a version-2 node sent in its day: the frozen handshake still decodes, so it can be refused.
        let legacy: [UInt8] = [2, 0x01, 2, 1, 0x61, 9, 0x31, 0x32, 0x37, 0x2E, 0x30, 0x2E, 0x30, 0x2E, 0x31, 0x1B, 0x58] + [UInt8](repeating: 0, count: 7) + [1]
        #expect(try MessageCodec.decodeBody(legacy) == .handshake(Handshake(
            version: 2, sender: PeerDescriptor(id: NodeID("a")!, address: PeerAddress(host: "127.0.0.1", port: 7000)), epoch: 1)))
        let rejection = Message.handshakeRejected(HandshakeRejection(reason: .unsupportedVersion, supportedVersion: 9, detail: "speaks 9"))
        var rejectionBody = MessageCodec.encodeBody(rejection)
        rejectionBody[0] = 9
        #expect(try MessageCodec.decodeBody(rejectionBody) == rejection)
    }

    @Test("VERSIONS is read strictly: its range must ascend and its extensions fit the frame")
    func versionOfferLayout() throws {
        let offer = Message.versions(VersionOffer(lowest: 3, highest: 4, extensions: [WireExtension(tag: 7, value: [0xAB])]))
        let newest = WireFormat.versions.upperBound
        #expect(MessageCodec.encodeBody(offer) == [newest, 0x03, 3, 4, 1, 7, 0, 1, 0xAB], "set-up frames carry the sender's highest version")
        #expect(throws: WireError.invalidValue(field: "versions", detail: "lowest version 5 is above the highest, 4")) {
            try MessageCodec.decodeBody([4, 0x03, 5, 4, 0])
        }
        #expect(throws: WireError.truncated(field: "versions.extensions", needed: 6, available: 3)) {
            try MessageCodec.decodeBody([4, 0x03, 3, 4, 2, 7, 0, 0])
        }
        // Set-up frames read under any header version, so a node of another version can be told why not.
        var foreign = MessageCodec.encodeBody(offer)
        foreign[0] = 200
        #expect(try MessageCodec.decodeBody(foreign) == offer)
        #expect(MessageCodec.encodeBody(.ping(RoundTripProbe(token: 0x0102)), version: 4) == [4, 0x18, 0, 0, 0, 0, 0, 0, 1, 2])
        // The example of docs/protocol.md ("Versions"), byte for byte.
        let sender = PeerDescriptor(id: NodeID("a")!, address: PeerAddress(host: "127.0.0.1", port: 7000))
        #expect(newest == 6, "the example of docs/protocol.md is written for a build speaking 3 to 6: update both together")
        let opening = MessageCodec.encodeFrame(.handshake(Handshake(version: 6, sender: sender, epoch: 1)))
            + MessageCodec.encodeFrame(.versions(VersionOffer(3...6)))
        #expect(opening == [0, 0, 0, 0x19, 6, 1, 6, 1, 0x61, 9] + Array("127.0.0.1".utf8) + [0x1B, 0x58, 0, 0, 0, 0, 0, 0, 0, 1]
                + [0, 0, 0, 5, 6, 3, 3, 6, 0])
    }

    @Test("a rejection detail longer than a string16 is cut at a character boundary and still round-trips")
    func longRejectionDetail() throws {
        let detail = String(repeating: "é", count: 40_000) // 80,000 bytes
        let frame = MessageCodec.encodeFrame(.handshakeRejected(HandshakeRejection(reason: .protocolViolation, detail: detail)))
        var assembler = FrameAssembler()
        assembler.append(frame)
        guard case .handshakeRejected(let decoded) = try assembler.nextMessage() else {
            Issue.record("not a rejection")
            return
        }
        #expect(decoded.detail.utf8.count == 65_534)
        #expect(detail.hasPrefix(decoded.detail))
    }

    @Test("errors say what was wrong and where")
    func typedErrors() {
        #expect(throws: WireError.emptyBody) { try MessageCodec.decodeBody([WireFormat.versions.upperBound]) }
        #expect(throws: WireError.unknownMessageType(0xEE)) { try MessageCodec.decodeBody([WireFormat.versions.upperBound, 0xEE]) }
        #expect(throws: WireError.trailingBytes(count: 1, after: .keepAlive)) { try MessageCodec.decodeBody([WireFormat.versions.upperBound, 0x17, 0]) }
        #expect(throws: WireError.invalidValue(field: "neighborReply.accepted", detail: "2 is not a boolean (0 or 1)")) {
            try MessageCodec.decodeBody([WireFormat.versions.upperBound, 0x13, 2])
        }
        // An IHAVE that claims 65,535 announcements in a 4-byte body is refused without reserving room for them.
        #expect(throws: WireError.truncated(field: "iHave.count", needed: 65535 * 22, available: 0)) {
            try MessageCodec.decodeBody([WireFormat.versions.upperBound, 0x21, 0xFF, 0xFF])
        }
        let gossip = MessageCodec.encodeBody(.gossip(Gossip(id: MessageID(origin: NodeID("a")!, epoch: 1, sequence: 2), round: 0, payload: [1, 2, 3])))
        #expect(throws: WireError.truncated(field: "gossip.payload", needed: 3, available: 2)) {
            try MessageCodec.decodeBody(Array(gossip.dropLast()))
        }
    }

    @Test("a million random and mutated frames each decode to a value or a typed error, and every value re-encodes to the same bytes")
    func decoderIsTotal() {
        var generator = MessageGenerator(seed: 0xF022)
        let samples = (0..<256).map { _ in MessageCodec.encodeBody(generator.anyMessage()) }
        var decoded = 0
        var rejected = 0
        var nonCanonical: [[UInt8]] = []
        for round in 0..<1_000_000 {
            var body: [UInt8]
            if round % 4 == 0 {
                body = (0..<generator.int(0...48)).map { _ in UInt8(generator.int(0...255)) }
                if body.count >= 2, generator.bool() { body[0] = WireFormat.versions.upperBound }
            } else {
                body = samples[round % samples.count]
                switch generator.int(0...3) {
                case 0:
                    for _ in 0...generator.int(0...3) where !body.isEmpty {
                        body[generator.int(0...body.count - 1)] ^= UInt8(1 << generator.int(0...7))
                    }
                case 1:
                    body.removeLast(generator.int(0...body.count))
                case 2:
                    body.insert(UInt8(generator.int(0...255)), at: generator.int(0...body.count))
                default:
                    if !body.isEmpty { body[generator.int(0...body.count - 1)] = UInt8(generator.int(0...255)) }
                }
            }
            do throws(WireError) {
                let message = try MessageCodec.decodeBody(body)
                decoded += 1
                // The version byte of a frozen handshake frame may differ; everything after it must be canonical.
                if MessageCodec.encodeBody(message).dropFirst() != body.dropFirst(), nonCanonical.count < 3 {
                    nonCanonical.append(body)
                }
            } catch {
                rejected += 1
            }
        }
        #expect(decoded + rejected == 1_000_000)
        #expect(decoded > 1000, "mutations should leave some frames valid")
        #expect(rejected > 1000)
        #expect(nonCanonical.isEmpty, "decoded bodies that encode differently: \(nonCanonical)")
    }
}
