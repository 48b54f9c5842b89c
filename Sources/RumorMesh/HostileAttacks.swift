import Glibc
import RumorCore
import RumorSecurity

/// What one attack did and what the node did about it.
public struct AttackFigures: Codable, Sendable {
    public var name: String
    public var connections: Int
    /// Connections the node had closed by the end of the attack (it is meant to close every one).
    public var closedByNode: Int
    public var bytesSent: Int
    /// Protocol messages a key holder got through (the keyed flood only).
    public var messagesSent: Int = 0
    public var seconds: Double
}

/// The attacks of `rumor bench hostile`, one after another against one node, with blocking sockets on a thread
/// of their own.
struct HostileAttacks {
    let target: PeerAddress
    let keyring: Keyring
    /// How long the timed attacks (slowloris, keyed flood) go on.
    let seconds: Double
    let stormConnections: Int
    /// The node's handshake limit: half-open and slow connections must be closed by then.
    let handshakeTimeout: Double

    func runAll() -> [AttackFigures] {
        [randomBytes(), oversizedPrefixes(), halfOpen(), connectionStorm(), slowloris(), keyedFlood()]
    }

    private func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    private func pause(_ seconds: Double) { usleep(UInt32(max(0, seconds) * 1e6)) }

    /// Opens `count` connections, lets `act` work them, then counts those the node closed.
    private func attack(_ name: String, connections count: Int, nonBlocking: Bool = false, settle: Double,
                        _ act: ([HostileSocket]) -> Int) -> AttackFigures {
        let start = now()
        let sockets = (0..<count).compactMap { _ in HostileSocket(connectingTo: target, nonBlocking: nonBlocking) }
        let bytes = act(sockets)
        pause(settle)
        let closed = sockets.filter(\.closedByPeer).count
        for socket in sockets { socket.close() }
        return AttackFigures(name: name, connections: sockets.count, closedByNode: closed, bytesSent: bytes, seconds: now() - start)
    }

    /// 64 KiB of random bytes on each of 20 connections.
    func randomBytes() -> AttackFigures {
        attack("random bytes", connections: 20, settle: 0.5) { sockets in
            var random = SystemRandomNumberGenerator()
            var sent = 0
            for socket in sockets {
                let garbage = (0..<65_536).map { _ in UInt8.random(in: 0...255, using: &random) }
                if socket.send(garbage) { sent += garbage.count }
            }
            return sent
        }
    }

    /// A 2 GiB length prefix on each of 20 connections.
    func oversizedPrefixes() -> AttackFigures {
        attack("oversized length prefixes", connections: 20, settle: 0.5) { sockets in
            sockets.reduce(0) { $0 + ($1.send([0x7F, 0xFF, 0xFF, 0xFF, 0xA0, 0x01, 0x02]) ? 7 : 0) }
        }
    }

    /// 100 connections that never say anything: the handshake limit must close them.
    func halfOpen() -> AttackFigures {
        attack("half-open connections", connections: 100, settle: handshakeTimeout + 1.5) { _ in 0 }
    }

    /// `stormConnections` connects at once, held for a second past the handshake limit.
    func connectionStorm() -> AttackFigures {
        attack("\(stormConnections) connections at once", connections: stormConnections, nonBlocking: true,
               settle: handshakeTimeout + 1.5) { _ in 0 }
    }

    /// 20 connections each sending one byte of a HELLO a second.
    func slowloris() -> AttackFigures {
        let hello = HandshakeInitiator(keyring: keyring).hello
        let duration = max(seconds, handshakeTimeout + 1.5)
        return attack("slowloris (a byte a second)", connections: 20, settle: 0.2) { sockets in
            var sent = 0
            let start = now()
            var index = 0
            while now() - start < duration {
                for socket in sockets where socket.isOpen && !socket.closedByPeer {
                    if socket.send([index < WireFormat.lengthPrefixSize ? 0 : hello[(index - WireFormat.lengthPrefixSize) % hello.count]]) { sent += 1 }
                }
                index += 1
                pause(1)
            }
            return sent
        }
    }

    /// Two key holders complete both handshakes, then send, as fast as the node reads, IHAVEs of made-up ids,
    /// oversized payloads, oversized shuffles and digests of huge ranges; a closed link is opened again.
    func keyedFlood() -> AttackFigures {
        let start = now()
        var messages = 0
        var bytes = 0
        var connections = 0
        var closed = 0
        var sequence: UInt64 = 0
        let ghost = NodeID("ghost")!
        let stranger = PeerDescriptor(id: NodeID("stranger")!, address: PeerAddress(host: "127.0.0.1", port: 9))
        let oversized = [UInt8](repeating: 0xAB, count: BroadcastConfiguration().maximumPayloadSize + 1)
        let manyEntries = (0..<500).map {
            ShuffleEntry(peer: PeerDescriptor(id: NodeID("fake-\($0)")!, address: PeerAddress(host: "127.9.\($0 / 250).\($0 % 250 + 1)", port: 7000)), age: 0)
        }
        var flooders: [KeyedFlooder] = []
        while now() - start < seconds {
            while flooders.count < 2, let flooder = KeyedFlooder(target: target, keyring: keyring, id: "flooder-\(connections)") {
                flooders.append(flooder)
                connections += 1
            }
            var survivors: [KeyedFlooder] = []
            for var flooder in flooders {
                let announcements = (0..<4096).map { offset in
                    Announcement(id: MessageID(origin: ghost, epoch: 1, sequence: sequence + UInt64(offset)), round: 1)
                }
                sequence += 4096
                var burst: [Message] = [
                    .iHave(IHave(announcements: announcements)),
                    .gossip(Gossip(id: MessageID(origin: ghost, epoch: 2, sequence: sequence), round: 0, payload: oversized)),
                    .digest(Digest(entries: [DigestEntry(origin: ghost, epoch: 3, ranges: [0...UInt64.max])])),
                ]
                // Now and then an oversized shuffle (its reply ends the exchange, so the node may close the link).
                if sequence % (4096 * 16) == 0 { burst.append(.shuffle(Shuffle(origin: stranger, ttl: 0, entries: manyEntries))) }
                var alive = true
                for message in burst where alive {
                    alive = flooder.send(message)
                    if alive {
                        messages += 1
                        bytes += MessageCodec.bodySize(of: message)
                    }
                }
                if alive { survivors.append(flooder) } else { closed += 1 }
            }
            flooders = survivors
            // The node refused new links for now (or is busy): try again shortly.
            if flooders.isEmpty { pause(0.05) }
        }
        closed += flooders.filter { $0.socket.closedByPeer }.count
        return AttackFigures(name: "key holder flooding", connections: connections, closedByNode: closed, bytesSent: bytes,
                             messagesSent: messages, seconds: now() - start)
    }
}
