@preconcurrency import Crypto
import RumorSecurity

/// The fixed keys of `FuzzHandshake`: one cluster key for both sides, and ephemeral keys that never change, so
/// every run of an input takes exactly the same path (and the seed generator can write a HELLO that names the key).
public enum HandshakeFixtures {
    /// Bytes 0x00...0x1f: a test key, never a real one.
    public static let clusterKey = ClusterKey(bytes: (0..<32).map { UInt8($0) })!
    public static let keyring = Keyring(clusterKey)
    public static let initiatorKeys = FixedEphemeralKeySource(fill: 0x11)
    public static let responderKeys = FixedEphemeralKeySource(fill: 0x22)

    /// A clean handshake between the two fixed machines: the initiator's and the responder's channels. The same
    /// every time, so a run can start from a copy.
    public static func establishedChannels() -> (initiator: SealedChannel, responder: SealedChannel) {
        var initiator = HandshakeInitiator(key: clusterKey, keySource: initiatorKeys)
        var responder = HandshakeResponder(keyring: keyring, keySource: responderKeys)
        do {
            guard case .send(let reply) = try responder.receive(initiator.hello),
                  case .established(let initiatorChannel, let confirm?) = try initiator.receive(reply),
                  case .established(let responderChannel, nil) = try responder.receive(confirm)
            else { fuzzFailure("the fixed handshake took an unexpected step") }
            return (initiatorChannel, responderChannel)
        } catch {
            fuzzFailure("the fixed handshake failed: \(error)")
        }
    }
}

/// An ephemeral key that is always the same. For fuzzing only: a real link must never reuse one.
public struct FixedEphemeralKeySource: EphemeralKeySource {
    public let rawKey: [UInt8]

    public init(fill: UInt8) {
        rawKey = (0..<32).map { fill &+ UInt8($0) }
    }

    public func makeEphemeralKey() -> Curve25519.KeyAgreement.PrivateKey {
        // X25519 takes any 32 bytes as a private key (it clamps them).
        try! Curve25519.KeyAgreement.PrivateKey(rawRepresentation: rawKey)
    }
}

/// `FuzzHandshake`'s input: a mode byte, then 2-byte-length chunks (`FuzzInput.chunk`) whose meaning the mode gives.
public enum HandshakeFuzzMode: UInt8, CaseIterable, Sendable {
    /// Every chunk is a message to a responder (the first should be a HELLO, the second a CONFIRM).
    case responder = 0
    /// Every chunk is a message to an initiator (the first should be a REPLY).
    case initiator = 1
    /// A real initiator and responder talk; the first three chunks are `Tamper`s applied to the HELLO, the REPLY
    /// and the CONFIRM on their way. An untouched handshake goes on into the sealed phase.
    case tamperedExchange = 2
    /// The sealed phase alone, from the fixed handshake's channels: every chunk is a `SealedStep`.
    case sealedChannel = 3

    public init(byte: UInt8) {
        self = Self.allCases[Int(byte) % Self.allCases.count]
    }
}

/// What happens to one handshake message on its way: a chunk whose first byte (mod 4) picks the operation.
public enum Tamper: Equatable, Sendable {
    case keep
    /// XOR the message with these bytes from its start (bytes past its end are appended).
    case xor([UInt8])
    /// Keep the first `count` bytes.
    case truncate(Int)
    /// Send these bytes instead.
    case replace([UInt8])

    public init(chunk: ArraySlice<UInt8>?) {
        guard let chunk, let op = chunk.first else {
            self = .keep
            return
        }
        let operand = Array(chunk.dropFirst())
        switch op % 4 {
        case 0: self = .keep
        case 1: self = .xor(operand)
        case 2: self = .truncate(Int(operand.first ?? 0))
        default: self = .replace(operand)
        }
    }

    public var chunk: [UInt8] {
        switch self {
        case .keep: [0]
        case .xor(let mask): [1] + mask
        case .truncate(let count): [2, UInt8(clamping: count)]
        case .replace(let bytes): [3] + bytes
        }
    }

    public func apply(to message: [UInt8]) -> [UInt8] {
        switch self {
        case .keep:
            return message
        case .xor(let mask):
            var result = message
            for (index, byte) in mask.enumerated() {
                if index < result.count { result[index] ^= byte } else { result.append(byte) }
            }
            return result
        case .truncate(let count):
            return Array(message.prefix(count))
        case .replace(let bytes):
            return bytes
        }
    }
}

/// One step of the sealed phase: a chunk `[op, operands...]`. Bit 0 of `op` is the direction (0: the initiator
/// seals, the responder opens; 1: the other way), bits 1-2 the action.
public struct SealedStep: Equatable, Sendable {
    public enum Action: Equatable, Sendable {
        /// Seal `payload` and open the result on the other side.
        case deliver
        /// Seal `payload`, flip one bit of the sealed body (bit `selector` mod its size in bits), then open it.
        case tamper(selector: Int)
        /// Open `payload` as it is, as if a stranger had sent it.
        case raw
        /// Seal `payload` and lose it: the other side never sees it.
        case drop
    }

    public var initiatorSends: Bool
    public var action: Action
    public var payload: [UInt8]

    public init(initiatorSends: Bool, action: Action, payload: [UInt8]) {
        self.initiatorSends = initiatorSends
        self.action = action
        self.payload = payload
    }

    /// Nil for an empty chunk.
    public init?(chunk: ArraySlice<UInt8>) {
        guard let op = chunk.first else { return nil }
        initiatorSends = op & 1 == 0
        var operands = chunk.dropFirst()
        switch (op >> 1) & 3 {
        case 0:
            action = .deliver
        case 1:
            // 13 bits of selector: the top 5 bits of `op`, then one operand byte.
            let low = operands.popFirst() ?? 0
            action = .tamper(selector: Int(op >> 3) << 8 | Int(low))
        case 2:
            action = .raw
        default:
            action = .drop
        }
        payload = Array(operands)
    }

    public var chunk: [UInt8] {
        let direction: UInt8 = initiatorSends ? 0 : 1
        switch action {
        case .deliver: return [direction] + payload
        case .tamper(let selector):
            return [direction | 1 << 1 | UInt8(truncatingIfNeeded: (selector >> 8) & 0x1F) << 3, UInt8(truncatingIfNeeded: selector)] + payload
        case .raw: return [direction | 2 << 1] + payload
        case .drop: return [direction | 3 << 1] + payload
        }
    }
}
