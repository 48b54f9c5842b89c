/// Encodes messages into frames and decodes frame bodies into messages. Pure: no I/O, no allocation beyond
/// the values decoded, and decoding is total (a value or a `WireError`, never a trap).
public enum MessageCodec {
    // MARK: Sizes

    /// The exact size of `message`'s frame body (version and type bytes included).
    public static func bodySize(of message: Message) -> Int {
        WireFormat.bodyHeaderSize + fieldsSize(of: message)
    }

    /// The exact size of `message`'s frame, length prefix included.
    public static func frameSize(of message: Message) -> Int {
        WireFormat.lengthPrefixSize + bodySize(of: message)
    }

    private static func fieldsSize(of message: Message) -> Int {
        switch message {
        case .handshake(let handshake):
            return 1 + size(of: handshake.sender) + 8
        case .handshakeRejected(let rejection):
            return 1 + 1 + 2 + boundedDetail(rejection.detail).utf8.count
        case .versions(let offer):
            return 1 + 1 + 1 + offer.extensions.prefix(Int(UInt8.max)).reduce(0) { $0 + 1 + 2 + $1.value.count }
        case .ping, .pong:
            return 8
        case .join, .keepAlive, .prune:
            return 0
        case .forwardJoin(let forward):
            return size(of: forward.joiner) + 1
        case .neighbor(let request):
            return 1 + size(ofOptional: request.handoff)
        case .disconnect(let disconnect):
            return 1 + size(ofOptional: disconnect.handoff)
        case .neighborReply:
            return 1
        case .shuffle(let shuffle):
            return size(of: shuffle.origin) + 1 + size(of: shuffle.entries)
        case .shuffleReply(let reply):
            return size(of: reply.entries)
        case .gossip(let gossip):
            return size(of: gossip.id) + (gossip.topic == nil ? 0 : 16) + 4 + 4 + gossip.payload.count
        case .directorySummary:
            return 4 + 8
        case .directoryBuckets(let buckets):
            return 2 + 8 * buckets.hashes.count
        case .directoryEntries(let entries):
            return 2 + entries.wanted.count + 2 + entries.entries.reduce(0) { $0 + DirectoryCodec.encodedSize(of: $1) }
        case .iHave(let iHave):
            return 2 + iHave.announcements.reduce(0) { $0 + size(of: $1.id) + 4 }
        case .graft(let graft):
            return 1 + (graft.id.map(size(of:)) ?? 0) + 4
        case .sampleWalk(let walk):
            return size(of: walk.origin) + 8 + 1
        case .sampleReply:
            return 8
        case .digest(let digest), .pull(let digest):
            return 2 + digest.entries.reduce(0) { $0 + 1 + $1.origin.rawValue.utf8.count + 8 + 2 + 16 * $1.ranges.count }
        }
    }

    /// A rejection's detail cut to what a string16 holds, at a character boundary.
    private static func boundedDetail(_ detail: String) -> String {
        guard detail.utf8.count > Int(UInt16.max) else { return detail }
        var cut = ""
        for character in detail {
            if cut.utf8.count + character.utf8.count > Int(UInt16.max) { break }
            cut.append(character)
        }
        return cut
    }

    static func size(of peer: PeerDescriptor) -> Int {
        1 + peer.id.rawValue.utf8.count + 1 + peer.address.host.utf8.count + 2
    }

    /// A presence byte, then the descriptor if there is one.
    private static func size(ofOptional peer: PeerDescriptor?) -> Int {
        1 + (peer.map(size(of:)) ?? 0)
    }

    private static func size(of entries: [ShuffleEntry]) -> Int {
        2 + entries.reduce(0) { $0 + size(of: $1.peer) + 2 }
    }

    private static func size(of id: MessageID) -> Int {
        1 + id.origin.rawValue.utf8.count + 8 + 8
    }

    // MARK: Encoding

    /// Encodes `message` as a whole frame (length prefix and body) at the start of `buffer`, which must hold
    /// at least `frameSize(of:)` bytes; returns the bytes written. `version` goes in the header: a link's
    /// negotiated version, or for set-up frames the highest the sender speaks.
    @discardableResult
    public static func encodeFrame(
        _ message: Message, version: UInt8 = WireFormat.versions.upperBound, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        encodeFrame(message, version: version, bodySize: bodySize(of: message), into: buffer)
    }

    /// `encodeFrame(_:version:into:)` for a caller that already knows `bodySize(of: message)`.
    @discardableResult
    public static func encodeFrame(
        _ message: Message, version: UInt8, bodySize: Int, into buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        let frameSize = WireFormat.lengthPrefixSize + bodySize
        precondition(buffer.count >= frameSize, "buffer of \(buffer.count) bytes cannot hold a \(frameSize)-byte frame")
        var writer = ByteWriter(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<frameSize]))
        writer.write(UInt32(bodySize))
        writer.write(version)
        writer.write(message.type.rawValue)
        writeFields(of: message, into: &writer)
        assert(writer.cursor == writer.end, "size and encoding of \(message.type) disagree")
        return frameSize
    }

    /// The whole frame of `message` as a new array.
    public static func encodeFrame(_ message: Message, version: UInt8 = WireFormat.versions.upperBound) -> [UInt8] {
        let size = frameSize(of: message)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = encodeFrame(message, version: version, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// The frame body of `message` (no length prefix) as a new array.
    public static func encodeBody(_ message: Message, version: UInt8 = WireFormat.versions.upperBound) -> [UInt8] {
        Array(encodeFrame(message, version: version).dropFirst(WireFormat.lengthPrefixSize))
    }

    private static func writeFields(of message: Message, into writer: inout ByteWriter) {
        switch message {
        case .handshake(let handshake):
            writer.write(handshake.version)
            write(handshake.sender, into: &writer)
            writer.write(handshake.epoch)
        case .handshakeRejected(let rejection):
            writer.write(rejection.reason.rawValue)
            writer.write(rejection.supportedVersion)
            writer.writeString(boundedDetail(rejection.detail), lengthAs: UInt16.self)
        case .versions(let offer):
            writer.write(offer.lowest)
            writer.write(offer.highest)
            // A count byte: more than 255 extensions are cut, as the size above counts them.
            let extensions = offer.extensions.prefix(Int(UInt8.max))
            writer.write(UInt8(extensions.count))
            for wireExtension in extensions {
                writer.write(wireExtension.tag)
                writer.write(UInt16(wireExtension.value.count))
                writer.write(bytes: wireExtension.value)
            }
        case .ping(let probe), .pong(let probe):
            writer.write(probe.token)
        case .join, .keepAlive, .prune:
            break
        case .forwardJoin(let forward):
            write(forward.joiner, into: &writer)
            writer.write(forward.ttl)
        case .neighbor(let request):
            writer.write(request.priority.rawValue)
            writeOptional(request.handoff, into: &writer)
        case .neighborReply(let reply):
            writer.write(UInt8(reply.accepted ? 1 : 0))
        case .disconnect(let disconnect):
            writer.write(UInt8(disconnect.alive ? 1 : 0))
            writeOptional(disconnect.handoff, into: &writer)
        case .shuffle(let shuffle):
            write(shuffle.origin, into: &writer)
            writer.write(shuffle.ttl)
            write(shuffle.entries, into: &writer)
        case .shuffleReply(let reply):
            write(reply.entries, into: &writer)
        case .gossip(let gossip):
            write(gossip.id, into: &writer)
            if let topic = gossip.topic {
                writer.write(topic.high)
                writer.write(topic.low)
            }
            writer.write(gossip.round)
            writer.write(UInt32(gossip.payload.count))
            writer.write(bytes: gossip.payload)
        case .iHave(let iHave):
            writer.write(UInt16(iHave.announcements.count))
            for announcement in iHave.announcements {
                write(announcement.id, into: &writer)
                writer.write(announcement.round)
            }
        case .graft(let graft):
            writer.write(UInt8(graft.id == nil ? 0 : 1))
            if let id = graft.id { write(id, into: &writer) }
            writer.write(graft.round)
        case .sampleWalk(let walk):
            write(walk.origin, into: &writer)
            writer.write(walk.nonce)
            writer.write(walk.ttl)
        case .sampleReply(let reply):
            writer.write(reply.nonce)
        case .directorySummary(let summary):
            writer.write(summary.count)
            writer.write(summary.rootHash)
        case .directoryBuckets(let buckets):
            writer.write(UInt16(buckets.hashes.count))
            for hash in buckets.hashes { writer.write(hash) }
        case .directoryEntries(let entries):
            writer.write(UInt16(entries.wanted.count))
            for bucket in entries.wanted { writer.write(bucket) }
            writer.write(UInt16(entries.entries.count))
            for entry in entries.entries { DirectoryCodec.write(entry, into: &writer) }
        case .digest(let digest), .pull(let digest):
            writer.write(UInt16(digest.entries.count))
            for entry in digest.entries {
                writer.writeString(entry.origin.rawValue, lengthAs: UInt8.self)
                writer.write(entry.epoch)
                writer.write(UInt16(entry.ranges.count))
                for range in entry.ranges {
                    writer.write(range.lowerBound)
                    writer.write(range.upperBound)
                }
            }
        }
    }

    static func write(_ peer: PeerDescriptor, into writer: inout ByteWriter) {
        writer.writeString(peer.id.rawValue, lengthAs: UInt8.self)
        writer.writeString(peer.address.host, lengthAs: UInt8.self)
        writer.write(peer.address.port)
    }

    private static func writeOptional(_ peer: PeerDescriptor?, into writer: inout ByteWriter) {
        writer.write(UInt8(peer == nil ? 0 : 1))
        if let peer { write(peer, into: &writer) }
    }

    private static func write(_ entries: [ShuffleEntry], into writer: inout ByteWriter) {
        writer.write(UInt16(entries.count))
        for entry in entries {
            write(entry.peer, into: &writer)
            writer.write(entry.age)
        }
    }

    private static func write(_ id: MessageID, into writer: inout ByteWriter) {
        writer.writeString(id.origin.rawValue, lengthAs: UInt8.self)
        writer.write(id.epoch)
        writer.write(id.sequence)
    }

    // MARK: Decoding

    /// Decodes one frame body (everything after the length prefix). A frame of a version outside `accepted`
    /// is refused, except for the set-up types, whose layout every version shares.
    public static func decodeBody(
        _ body: UnsafeRawBufferPointer, accepting accepted: ClosedRange<UInt8> = WireFormat.versions
    ) throws(WireError) -> Message {
        guard body.count >= WireFormat.bodyHeaderSize else { throw .emptyBody }
        var reader = ByteReader(body)
        let version = try reader.read(UInt8.self, "version")
        let typeByte = try reader.read(UInt8.self, "type")
        guard let type = MessageType(rawValue: typeByte) else {
            // An unknown type from another version is a version problem, not garbage.
            if !accepted.contains(version) { throw .unsupportedVersion(received: version, supported: accepted) }
            throw .unknownMessageType(typeByte)
        }
        if !type.isVersionIndependent {
            guard accepted.contains(version) else { throw .unsupportedVersion(received: version, supported: accepted) }
            guard version >= type.introducedIn else { throw .typeNotInVersion(type, version: version) }
        }
        let message = try readFields(of: type, from: &reader)
        guard reader.remaining == 0 else { throw .trailingBytes(count: reader.remaining, after: type) }
        return message
    }

    /// Decodes one frame body held in an array.
    public static func decodeBody(
        _ body: [UInt8], accepting accepted: ClosedRange<UInt8> = WireFormat.versions
    ) throws(WireError) -> Message {
        let result: Result<Message, WireError> = body.withUnsafeBytes { buffer in
            do throws(WireError) { return .success(try decodeBody(buffer, accepting: accepted)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func readFields(of type: MessageType, from reader: inout ByteReader) throws(WireError) -> Message {
        switch type {
        case .handshake:
            let version = try reader.read(UInt8.self, "handshake.version")
            let sender = try readPeer(&reader, "handshake.sender")
            let epoch = try reader.read(UInt64.self, "handshake.epoch")
            return .handshake(Handshake(version: version, sender: sender, epoch: epoch))
        case .handshakeRejected:
            let code = try reader.read(UInt8.self, "rejection.reason")
            guard let reason = HandshakeRejection.Reason(rawValue: code) else {
                throw .invalidValue(field: "rejection.reason", detail: "unknown reason code \(code)")
            }
            let supported = try reader.read(UInt8.self, "rejection.supportedVersion")
            let detail = try reader.readString(lengthAs: UInt16.self, "rejection.detail")
            return .handshakeRejected(HandshakeRejection(reason: reason, supportedVersion: supported, detail: detail))
        case .versions:
            let lowest = try reader.read(UInt8.self, "versions.lowest")
            let highest = try reader.read(UInt8.self, "versions.highest")
            guard lowest <= highest else {
                throw .invalidValue(field: "versions", detail: "lowest version \(lowest) is above the highest, \(highest)")
            }
            // An extension is at least a tag and a length.
            let count = Int(try reader.read(UInt8.self, "versions.extensionCount"))
            guard reader.remaining >= 3 * count else {
                throw .truncated(field: "versions.extensions", needed: 3 * count, available: reader.remaining)
            }
            var extensions: [WireExtension] = []
            extensions.reserveCapacity(count)
            for _ in 0..<count {
                let tag = try reader.read(UInt8.self, "versions.extension.tag")
                let length = Int(try reader.read(UInt16.self, "versions.extension.length"))
                extensions.append(WireExtension(tag: tag, value: try reader.readBytes(count: length, "versions.extension.value")))
            }
            return .versions(VersionOffer(lowest: lowest, highest: highest, extensions: extensions))
        case .ping:
            return .ping(RoundTripProbe(token: try reader.read(UInt64.self, "ping.token")))
        case .pong:
            return .pong(RoundTripProbe(token: try reader.read(UInt64.self, "pong.token")))
        case .join:
            return .join
        case .forwardJoin:
            let joiner = try readPeer(&reader, "forwardJoin.joiner")
            let ttl = try reader.read(UInt8.self, "forwardJoin.ttl")
            return .forwardJoin(ForwardJoin(joiner: joiner, ttl: ttl))
        case .neighbor:
            let code = try reader.read(UInt8.self, "neighbor.priority")
            guard let priority = NeighborRequest.Priority(rawValue: code) else {
                throw .invalidValue(field: "neighbor.priority", detail: "\(code) is neither low (0) nor high (1)")
            }
            return .neighbor(NeighborRequest(priority: priority, handoff: try readOptionalPeer(&reader, "neighbor.handoff")))
        case .neighborReply:
            return .neighborReply(NeighborReply(accepted: try reader.readBool("neighborReply.accepted")))
        case .disconnect:
            let alive = try reader.readBool("disconnect.alive")
            return .disconnect(Disconnect(alive: alive, handoff: try readOptionalPeer(&reader, "disconnect.handoff")))
        case .shuffle:
            let origin = try readPeer(&reader, "shuffle.origin")
            let ttl = try reader.read(UInt8.self, "shuffle.ttl")
            let entries = try readEntries(&reader, "shuffle.entries")
            return .shuffle(Shuffle(origin: origin, ttl: ttl, entries: entries))
        case .shuffleReply:
            return .shuffleReply(ShuffleReply(entries: try readEntries(&reader, "shuffleReply.entries")))
        case .keepAlive:
            return .keepAlive
        case .gossip, .topicGossip:
            let id = try readMessageID(&reader, "gossip.id")
            var topic: TopicID?
            if type == .topicGossip {
                topic = TopicID(high: try reader.read(UInt64.self, "topicGossip.topic"), low: try reader.read(UInt64.self, "topicGossip.topic"))
            }
            let round = try reader.read(UInt32.self, "gossip.round")
            let length = Int(try reader.read(UInt32.self, "gossip.payloadLength"))
            let payload = try reader.readBytes(count: length, "gossip.payload")
            return .gossip(Gossip(id: id, round: round, payload: payload, topic: topic))
        case .directorySummary:
            let count = try reader.read(UInt32.self, "directorySummary.count")
            return .directorySummary(DirectorySummary(count: count, rootHash: try reader.read(UInt64.self, "directorySummary.rootHash")))
        case .directoryBuckets:
            let count = try reader.readCount(minimumElementSize: 8, "directoryBuckets.count")
            guard count == DirectoryState.bucketCount else {
                throw .invalidValue(field: "directoryBuckets.count", detail: "\(count) buckets where there are \(DirectoryState.bucketCount)")
            }
            var hashes: [UInt64] = []
            hashes.reserveCapacity(count)
            for _ in 0..<count { hashes.append(try reader.read(UInt64.self, "directoryBuckets.hash")) }
            return .directoryBuckets(DirectoryBuckets(hashes: hashes))
        case .directoryEntries:
            let wantedCount = try reader.readCount(minimumElementSize: 1, "directoryEntries.wantedCount")
            guard wantedCount <= DirectoryState.bucketCount else {
                throw .invalidValue(field: "directoryEntries.wanted", detail: "\(wantedCount) buckets where there are \(DirectoryState.bucketCount)")
            }
            var wanted: [UInt8] = []
            wanted.reserveCapacity(wantedCount)
            for _ in 0..<wantedCount { wanted.append(try reader.read(UInt8.self, "directoryEntries.wanted")) }
            // An entry is at least a peer (1-byte id and host, a port), two numbers, a status and a tag count.
            let count = try reader.readCount(minimumElementSize: 24, "directoryEntries.count")
            var entries: [MemberEntry] = []
            entries.reserveCapacity(count)
            let limits = DirectoryLimits()
            for _ in 0..<count { entries.append(try DirectoryCodec.readEntry(&reader, limits: limits)) }
            return .directoryEntries(DirectoryEntries(wanted: wanted, entries: entries))
        case .iHave:
            // An announcement is at least a 1-byte origin, two 8-byte numbers and a round.
            let count = try reader.readCount(minimumElementSize: 22, "iHave.count")
            var announcements: [Announcement] = []
            announcements.reserveCapacity(count)
            for _ in 0..<count {
                let id = try readMessageID(&reader, "iHave.id")
                let round = try reader.read(UInt32.self, "iHave.round")
                announcements.append(Announcement(id: id, round: round))
            }
            return .iHave(IHave(announcements: announcements))
        case .graft:
            let id = try reader.readBool("graft.hasID") ? try readMessageID(&reader, "graft.id") : nil
            let round = try reader.read(UInt32.self, "graft.round")
            return .graft(Graft(id: id, round: round))
        case .prune:
            return .prune
        case .digest:
            return .digest(try readDigest(&reader, "digest"))
        case .pull:
            return .pull(try readDigest(&reader, "pull"))
        case .sampleWalk:
            let origin = try readPeer(&reader, "sampleWalk.origin")
            let nonce = try reader.read(UInt64.self, "sampleWalk.nonce")
            let ttl = try reader.read(UInt8.self, "sampleWalk.ttl")
            return .sampleWalk(SampleWalk(origin: origin, nonce: nonce, ttl: ttl))
        case .sampleReply:
            return .sampleReply(SampleReply(nonce: try reader.read(UInt64.self, "sampleReply.nonce")))
        }
    }

    static func readNodeID(_ reader: inout ByteReader, _ field: StaticString) throws(WireError) -> NodeID {
        let text = try reader.readString(lengthAs: UInt8.self, field)
        guard let id = NodeID(text) else { throw .invalidNodeID(field: field.description) }
        return id
    }

    static func readPeer(_ reader: inout ByteReader, _ field: StaticString) throws(WireError) -> PeerDescriptor {
        let id = try readNodeID(&reader, field)
        let host = try reader.readString(lengthAs: UInt8.self, field)
        guard !host.isEmpty else { throw .invalidValue(field: field.description, detail: "empty host") }
        let port = try reader.read(UInt16.self, field)
        guard port != 0 else { throw .invalidValue(field: field.description, detail: "port 0") }
        return PeerDescriptor(id: id, address: PeerAddress(host: host, port: port))
    }

    private static func readOptionalPeer(_ reader: inout ByteReader, _ field: StaticString) throws(WireError) -> PeerDescriptor? {
        let present = try reader.read(UInt8.self, field)
        switch present {
        case 0: return nil
        case 1: return try readPeer(&reader, field)
        default: throw .invalidValue(field: field.description, detail: "presence byte \(present) is neither 0 nor 1")
        }
    }

    private static func readEntries(_ reader: inout ByteReader, _ field: StaticString) throws(WireError) -> [ShuffleEntry] {
        // An entry is at least a 1-byte id, a 1-byte host, a port and an age.
        let count = try reader.readCount(minimumElementSize: 8, field)
        var entries: [ShuffleEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let peer = try readPeer(&reader, field)
            let age = try reader.read(UInt16.self, field)
            entries.append(ShuffleEntry(peer: peer, age: age))
        }
        return entries
    }

    private static func readMessageID(_ reader: inout ByteReader, _ field: StaticString) throws(WireError) -> MessageID {
        let origin = try readNodeID(&reader, field)
        let epoch = try reader.read(UInt64.self, field)
        let sequence = try reader.read(UInt64.self, field)
        return MessageID(origin: origin, epoch: epoch, sequence: sequence)
    }

    private static func readDigest(_ reader: inout ByteReader, _ field: StaticString) throws(WireError) -> Digest {
        // An entry is at least a 1-byte origin, an epoch and a range count.
        let count = try reader.readCount(minimumElementSize: 12, field)
        var entries: [DigestEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let origin = try readNodeID(&reader, field)
            let epoch = try reader.read(UInt64.self, field)
            let rangeCount = try reader.readCount(minimumElementSize: 16, field)
            var ranges: [ClosedRange<UInt64>] = []
            ranges.reserveCapacity(rangeCount)
            for _ in 0..<rangeCount {
                let lower = try reader.read(UInt64.self, field)
                let upper = try reader.read(UInt64.self, field)
                guard lower <= upper else {
                    throw .invalidValue(field: field.description, detail: "range \(lower)...\(upper) runs backwards")
                }
                ranges.append(lower...upper)
            }
            entries.append(DigestEntry(origin: origin, epoch: epoch, ranges: ranges))
        }
        return Digest(entries: entries)
    }
}
