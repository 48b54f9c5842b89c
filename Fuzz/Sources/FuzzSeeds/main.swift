// Writes the seed corpora: `FuzzSeeds DIR` fills DIR/FuzzFrameDecoder, DIR/FuzzHandshake and DIR/FuzzNodeConnection
// (run from Fuzz/ with DIR = ../Tests/FuzzCorpus; a plain build: `swift run -c release --scratch-path .build-seeds FuzzSeeds ../Tests/FuzzCorpus`).
// Each seed is a small valid input that reaches deep into its target; the fuzzer mutates from there.
import Foundation
import FuzzSupport
import RumorCore
import RumorSecurity

let root = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "../Tests/FuzzCorpus")
var written = 0
var totalBytes = 0

@MainActor func write(_ target: String, _ name: String, _ bytes: [UInt8]) {
    let directory = root.appendingPathComponent(target)
    try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try! Data(bytes).write(to: directory.appendingPathComponent(name))
    written += 1
    totalBytes += bytes.count
}

// MARK: Sample messages, one or more of every type

let peerA = NodeFixtures.peer("peer-a", port: 7101)
let peerB = NodeFixtures.peer("peer-b", port: 7102)
let peerC = NodeFixtures.peer("peer-c", port: 7103)
let seedPeer = PeerDescriptor(id: NodeID("seed-1")!, address: NodeFixtures.seeds[0])
let origin = NodeID("origin-x")!
let id1 = MessageID(origin: origin, epoch: 3, sequence: 1)
let id2 = MessageID(origin: origin, epoch: 3, sequence: 2)
let id3 = MessageID(origin: peerA.id, epoch: 5, sequence: 9)

let samples: [(String, Message)] = [
    ("handshake", .handshake(Handshake(sender: peerA, epoch: 5))),
    ("handshake-v1", .handshake(Handshake(version: 1, sender: PeerDescriptor(id: NodeID("old")!, address: PeerAddress(host: "::1", port: 9000)), epoch: 0))),
    ("handshake-rejected", .handshakeRejected(HandshakeRejection(reason: .duplicateLink, detail: "already linked to fuzz-node"))),
    ("versions", .versions(VersionOffer(WireFormat.versions))),
    ("versions-extension", .versions(VersionOffer(lowest: 3, highest: 9, extensions: [WireExtension(tag: 1, value: Array("cluster".utf8))]))),
    ("ping", .ping(RoundTripProbe(token: 1_500_000_000))),
    ("pong", .pong(RoundTripProbe(token: 1_500_000_000))),
    ("join", .join),
    ("forward-join", .forwardJoin(ForwardJoin(joiner: peerB, ttl: 6))),
    ("neighbor-high", .neighbor(NeighborRequest(priority: .high))),
    ("neighbor-handoff", .neighbor(NeighborRequest(priority: .low, handoff: peerC))),
    ("neighbor-reply", .neighborReply(NeighborReply(accepted: true))),
    ("disconnect", .disconnect(Disconnect(alive: true, handoff: peerB))),
    ("shuffle", .shuffle(Shuffle(origin: peerB, ttl: 3, entries: [ShuffleEntry(peer: peerC, age: 2), ShuffleEntry(peer: seedPeer, age: 0)]))),
    ("shuffle-reply", .shuffleReply(ShuffleReply(entries: [ShuffleEntry(peer: peerC, age: 7)]))),
    ("keep-alive", .keepAlive),
    ("gossip", .gossip(Gossip(id: id1, round: 2, payload: Array("hello, overlay".utf8)))),
    ("ihave", .iHave(IHave(announcements: [Announcement(id: id2, round: 1), Announcement(id: id3, round: 4)]))),
    ("graft", .graft(Graft(id: id1, round: 3))),
    ("graft-no-id", .graft(Graft(id: nil, round: 0))),
    ("prune", .prune),
    ("digest", .digest(Digest(entries: [DigestEntry(origin: origin, epoch: 3, ranges: [1...2, 5...9]), DigestEntry(origin: peerA.id, epoch: 5, ranges: [9...9])]))),
    ("pull", .pull(Digest(entries: [DigestEntry(origin: origin, epoch: 3, ranges: [3...4])]))),
]

// MARK: FuzzFrameDecoder: [split byte] + frame stream; bodies alone for the whole-input decode

for (name, message) in samples {
    write("FuzzFrameDecoder", "frame-\(name)", [0x80] + MessageCodec.encodeFrame(message))
    write("FuzzFrameDecoder", "body-\(name)", MessageCodec.encodeBody(message))
}
write("FuzzFrameDecoder", "stream-all", [0x60] + samples.flatMap { MessageCodec.encodeFrame($0.1) })
write("FuzzFrameDecoder", "stream-oversized-prefix", [0x40] + MessageCodec.encodeFrame(.join) + [0x00, 0x10, 0x00, 0x01, 0x02, 0x10])

// MARK: FuzzHandshake

do {
    var initiator = HandshakeInitiator(key: HandshakeFixtures.clusterKey, keySource: HandshakeFixtures.initiatorKeys)
    var responder = HandshakeResponder(keyring: HandshakeFixtures.keyring, keySource: HandshakeFixtures.responderKeys)
    let hello = initiator.hello
    guard case .send(let reply) = try responder.receive(hello),
          case .established(_, let confirm?) = try initiator.receive(reply)
    else { fatalError("the fixed handshake took an unexpected step") }

    func handshakeInput(_ mode: HandshakeFuzzMode, _ chunks: [[UInt8]]) -> [UInt8] {
        var input = FuzzInputBuilder()
        input.byte(mode.rawValue)
        for chunk in chunks { input.chunk(chunk) }
        return input.bytes
    }

    let sealedSteps: [SealedStep] = [
        SealedStep(initiatorSends: true, action: .deliver, payload: MessageCodec.encodeBody(.handshake(Handshake(sender: peerA, epoch: 5)))),
        SealedStep(initiatorSends: false, action: .deliver, payload: MessageCodec.encodeBody(.join)),
        SealedStep(initiatorSends: true, action: .deliver, payload: []),
        SealedStep(initiatorSends: false, action: .drop, payload: Array("lost".utf8)),
        SealedStep(initiatorSends: false, action: .deliver, payload: Array("after a gap".utf8)),
        SealedStep(initiatorSends: true, action: .tamper(selector: 77), payload: Array("flipped".utf8)),
        SealedStep(initiatorSends: true, action: .deliver, payload: Array("refused".utf8)),
    ]
    let sealedChunks = sealedSteps.map(\.chunk)

    // A responder and an initiator each taking the genuine messages (the machines are deterministic, so they
    // establish), then one too many.
    write("FuzzHandshake", "responder-genuine", handshakeInput(.responder, [hello, confirm, confirm]))
    write("FuzzHandshake", "initiator-genuine", handshakeInput(.initiator, [reply, reply]))
    var unknownKey = hello
    unknownKey[2] ^= 0xFF
    write("FuzzHandshake", "responder-unknown-key", handshakeInput(.responder, [unknownKey]))
    var laterVersion = hello
    laterVersion[1] = 2
    write("FuzzHandshake", "responder-later-version", handshakeInput(.responder, [laterVersion + [0, 0]]))
    write("FuzzHandshake", "responder-plaintext-frame", handshakeInput(.responder, [MessageCodec.encodeBody(.handshake(Handshake(sender: peerA, epoch: 1)))]))
    write("FuzzHandshake", "initiator-forged-proof", handshakeInput(.initiator, [Array(reply.prefix(34)) + [UInt8](repeating: 0x5A, count: 32)]))

    // The exchange untouched, then sealed traffic; and tampered at each message.
    let keep = Tamper.keep.chunk
    write("FuzzHandshake", "exchange-clean-then-sealed", handshakeInput(.tamperedExchange, [keep, keep, keep] + sealedChunks))
    write("FuzzHandshake", "exchange-hello-xor", handshakeInput(.tamperedExchange, [Tamper.xor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).chunk]))
    write("FuzzHandshake", "exchange-reply-truncated", handshakeInput(.tamperedExchange, [keep, Tamper.truncate(40).chunk]))
    write("FuzzHandshake", "exchange-confirm-replaced", handshakeInput(.tamperedExchange, [keep, keep, Tamper.replace(Array(confirm.prefix(2)) + [UInt8](repeating: 0, count: 32)).chunk]))
    write("FuzzHandshake", "sealed-steps", handshakeInput(.sealedChannel, sealedChunks))
    write("FuzzHandshake", "sealed-raw", handshakeInput(.sealedChannel, [
        SealedStep(initiatorSends: true, action: .raw, payload: [UInt8](repeating: 0xAB, count: 24)).chunk,
        SealedStep(initiatorSends: false, action: .raw, payload: [1, 2, 3]).chunk,
    ]))
} catch {
    fatalError("the fixed handshake failed: \(error)")
}

// MARK: FuzzNodeConnection

do {
    // Link 1 (slot 0): a peer completes the handshake, then sends every message type; timers run in between.
    var script = NodeScriptBuilder()
    script.frame(.handshake(Handshake(sender: peerA, epoch: 5)))
    script.frame(.versions(VersionOffer(WireFormat.versions)))
    for (name, message) in samples where !name.hasPrefix("handshake") && !name.hasPrefix("versions") {
        script.frame(message, timers: name == "gossip" || name == "ihave" ? 2 : 1)
    }
    write("FuzzNodeConnection", "every-message", script.bytes)

    // The node dials a seed at start: slot 1 opens outbound to it; the seed answers the JOIN's link.
    script = NodeScriptBuilder()
    script.frame(.handshake(Handshake(sender: seedPeer, epoch: 1)), slot: 1)
    script.frame(.versions(VersionOffer(WireFormat.versions)), slot: 1)
    script.frame(.neighbor(NeighborRequest(priority: .high)), slot: 1)
    script.frame(.forwardJoin(ForwardJoin(joiner: peerB, ttl: 2)), slot: 1)
    script.frame(.handshake(Handshake(sender: peerB, epoch: 2)), slot: 2)
    script.frame(.versions(VersionOffer(WireFormat.versions)), slot: 2)
    script.frame(.neighborReply(NeighborReply(accepted: true)), slot: 2)
    script.frame(.shuffle(Shuffle(origin: peerC, ttl: 1, entries: [ShuffleEntry(peer: peerA, age: 1)])), slot: 1, timers: 1)
    script.fireTimers(9)
    script.connectFailed()
    script.fireTimers(6)
    write("FuzzNodeConnection", "join-through-seed", script.bytes)

    // One peer on three links: a restart (higher epoch), then a stale epoch, then a link closing.
    script = NodeScriptBuilder()
    script.frame(.handshake(Handshake(sender: peerA, epoch: 5)))
    script.frame(.versions(VersionOffer(WireFormat.versions)))
    script.frame(.neighbor(NeighborRequest(priority: .high)))
    script.frame(.handshake(Handshake(sender: peerA, epoch: 6)), slot: 2)
    script.frame(.versions(VersionOffer(WireFormat.versions)), slot: 2)
    script.frame(.handshake(Handshake(sender: peerA, epoch: 5)), slot: 3)
    script.frame(.versions(VersionOffer(WireFormat.versions)), slot: 3)
    script.frame(.handshake(Handshake(sender: NodeFixtures.identity, epoch: 7)), slot: 1)
    script.frame(.versions(VersionOffer(WireFormat.versions)), slot: 1)
    script.closeLink(slot: 2)
    script.fireTimers(12)
    write("FuzzNodeConnection", "duplicate-links", script.bytes)

    // Broadcast: a publish, an IHAVE whose payload never comes (graft timers), the payload, duplicates (prune).
    script = NodeScriptBuilder()
    script.frame(.handshake(Handshake(sender: peerA, epoch: 5)))
    script.frame(.versions(VersionOffer(WireFormat.versions)))
    script.frame(.neighbor(NeighborRequest(priority: .high)))
    script.frame(.handshake(Handshake(sender: peerB, epoch: 2)), slot: 1)
    script.frame(.versions(VersionOffer(WireFormat.versions)), slot: 1)
    script.frame(.neighbor(NeighborRequest(priority: .high)), slot: 1)
    script.publish(Array("published here".utf8))
    script.frame(.iHave(IHave(announcements: [Announcement(id: id1, round: 1), Announcement(id: id2, round: 1)])), slot: 1)
    script.fireTimers(3)
    let gossip = Message.gossip(Gossip(id: id1, round: 2, payload: [1, 2, 3]))
    script.frame(gossip)
    script.frame(gossip, slot: 1)
    script.frame(gossip)
    script.frame(gossip)
    script.frame(.graft(Graft(id: MessageID(origin: NodeFixtures.identity.id, epoch: 7, sequence: 0), round: 0)), slot: 1)
    script.frame(.pull(Digest(entries: [DigestEntry(origin: NodeFixtures.identity.id, epoch: 7, ranges: [0...0])])))
    script.frame(.digest(Digest(entries: [DigestEntry(origin: origin, epoch: 3, ranges: [1...4])])), slot: 1)
    script.fireTimers(6)
    write("FuzzNodeConnection", "broadcast", script.bytes)

    // A link that never completes its handshake, and one that sends garbage.
    script = NodeScriptBuilder()
    script.rawFrame([0, 0, 0, 3, 2, 0x7F, 0], slot: 1)
    script.fireTimers(12)
    write("FuzzNodeConnection", "handshake-timeout-and-garbage", script.bytes)

    // A peer refuses the link; a protocol message before the handshake; an established peer goes silent.
    script = NodeScriptBuilder()
    script.frame(.handshakeRejected(HandshakeRejection(reason: .unsupportedVersion, supportedVersion: 3, detail: "speak v3")))
    script.frame(.join, slot: 1)
    script.frame(.handshake(Handshake(sender: peerC, epoch: 1)), slot: 2)
    script.frame(.versions(VersionOffer(WireFormat.versions)), slot: 2)
    script.frame(.join, slot: 2)
    script.fireTimers(24)
    write("FuzzNodeConnection", "rejections-and-silence", script.bytes)
}

print("wrote \(written) seeds, \(totalBytes) bytes, under \(root.path)")
