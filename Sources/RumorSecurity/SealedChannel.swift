@preconcurrency import Crypto
import FoundationEssentials

/// Which way a frame travels on a link. Each direction has its own key, counter and associated data.
public enum SealDirection: Sendable, Hashable, CaseIterable {
    case initiatorToResponder
    case responderToInitiator

    /// Authenticated with every frame: with distinct keys per direction a reflected frame already fails, and the
    /// label makes that hold even if the two keys were ever equal.
    var associatedData: [UInt8] {
        switch self {
        case .initiatorToResponder: Array("rumor v1 initiator to responder".utf8)
        case .responderToInitiator: Array("rumor v1 responder to initiator".utf8)
        }
    }
}

/// Both directions of an established link. A sealed frame body is ChaCha20-Poly1305 ciphertext followed by its
/// 16-byte tag; the caller adds the length prefix as for any frame. The nonce is never sent: it is the frame's
/// position in its direction (4 zero bytes, then a 64-bit big-endian counter from 0), so a replayed, dropped or
/// reordered frame fails to open, as does one sealed for the other direction.
public struct SealedChannel: Sendable {
    /// Bytes a sealed body adds to its plaintext: the Poly1305 tag.
    public static let overhead = 16

    /// The cluster key the handshake used, for logging rotations ("peer still on the old key").
    public let keyID: ClusterKey.ID
    /// Seals frames this side sends.
    public var sealer: Sealer
    /// Opens frames this side receives.
    public var opener: Opener

    init(keys: SessionKeys, isInitiator: Bool, keyID: ClusterKey.ID) {
        self.keyID = keyID
        let outbound: SealDirection = isInitiator ? .initiatorToResponder : .responderToInitiator
        let inbound: SealDirection = isInitiator ? .responderToInitiator : .initiatorToResponder
        sealer = Sealer(key: keys.key(for: outbound), direction: outbound)
        opener = Opener(key: keys.key(for: inbound), direction: inbound)
    }

    /// The size of the sealed body for a plaintext body of `plaintextSize` bytes.
    public static func sealedSize(plaintextSize: Int) -> Int {
        plaintextSize + overhead
    }

    public mutating func seal(_ plaintext: some DataProtocol) throws(SealError) -> [UInt8] {
        try sealer.seal(plaintext)
    }

    public mutating func open(_ sealed: some DataProtocol) throws(SealError) -> [UInt8] {
        try opener.open(sealed)
    }
}

extension SessionKeys {
    func key(for direction: SealDirection) -> SymmetricKey {
        switch direction {
        case .initiatorToResponder: initiatorToResponder
        case .responderToInitiator: responderToInitiator
        }
    }
}

/// ChaCha20-Poly1305's nonce size.
private let nonceSize = 12

/// The nonce of the frame at `counter`: 4 zero bytes, then the counter big-endian.
private func frameNonce(_ counter: UInt64) -> ChaChaPoly.Nonce {
    let bytes = [0, 0, 0, 0] + (0..<8).map { UInt8(truncatingIfNeeded: counter >> (56 - 8 * $0)) }
    return try! ChaChaPoly.Nonce(data: bytes) // Refuses only a size other than 12.
}

/// Seals one direction's frames in order.
///
/// A value type, like the rest of this module: keep exactly one per link and seal through it in place
/// (`link.channel.seal(body)`), never through a copy. Two copies sealing would repeat a nonce under one key,
/// which leaks the XOR of the two plaintexts. The peer would refuse the second frame at once (its counter has
/// moved on) and the link would close, so such a bug shows up as broken links, but the leak has happened.
public struct Sealer: Sendable {
    public let direction: SealDirection
    private let key: SymmetricKey
    /// The next frame's counter, which is also how many frames were sealed. The last value, 2^64 − 1, is never
    /// used, so the counter can never wrap and repeat a nonce.
    public private(set) var nextCounter: UInt64

    init(key: SymmetricKey, direction: SealDirection, nextCounter: UInt64 = 0) {
        self.key = key
        self.direction = direction
        self.nextCounter = nextCounter
    }

    /// The sealed body of `plaintext`: ciphertext, then tag. Fails only once 2^64 − 1 frames were sealed.
    public mutating func seal(_ plaintext: some DataProtocol) throws(SealError) -> [UInt8] {
        guard nextCounter < .max else { throw .counterExhausted }
        let box: ChaChaPoly.SealedBox
        do {
            box = try ChaChaPoly.seal(plaintext, using: key, nonce: frameNonce(nextCounter), authenticating: direction.associatedData)
        } catch {
            // Sealing fails only for a key or nonce of the wrong size, which cannot be built here.
            preconditionFailure("ChaChaPoly.seal failed: \(error)")
        }
        nextCounter += 1
        // `combined` is nonce || ciphertext || tag; the nonce stays implicit.
        return Array(box.combined.dropFirst(nonceSize))
    }
}

/// Opens one direction's frames in order. The first failure is final: the caller closes the link, and until it
/// does, nothing more is opened, so no frame after a gap or forgery is ever taken in.
public struct Opener: Sendable {
    public let direction: SealDirection
    private let key: SymmetricKey
    /// The counter the next frame must have been sealed with: frames opened so far.
    public private(set) var nextCounter: UInt64
    /// Whether an earlier frame failed to open, after which every frame is refused.
    public private(set) var hasFailed = false

    init(key: SymmetricKey, direction: SealDirection, nextCounter: UInt64 = 0) {
        self.key = key
        self.direction = direction
        self.nextCounter = nextCounter
    }

    /// The plaintext of the next sealed body, if it is authentic and next in order.
    public mutating func open(_ sealed: some DataProtocol) throws(SealError) -> [UInt8] {
        guard !hasFailed else { throw .refusedAfterFailure }
        do throws(SealError) {
            let plaintext = try openNext(sealed)
            nextCounter += 1
            return plaintext
        } catch {
            hasFailed = true
            throw error
        }
    }

    private func openNext(_ sealed: some DataProtocol) throws(SealError) -> [UInt8] {
        guard nextCounter < .max else { throw .counterExhausted }
        guard sealed.count >= SealedChannel.overhead else { throw .tooShort(length: sealed.count) }
        let tagStart = sealed.index(sealed.endIndex, offsetBy: -SealedChannel.overhead)
        do {
            let box = try ChaChaPoly.SealedBox(nonce: frameNonce(nextCounter), ciphertext: sealed[..<tagStart], tag: sealed[tagStart...])
            return Array(try ChaChaPoly.open(box, using: key, authenticating: direction.associatedData))
        } catch {
            throw .authenticationFailed(frame: nextCounter)
        }
    }
}

/// Why a frame could not be sealed or opened. Every case ends the link.
public enum SealError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The body is shorter than a tag.
    case tooShort(length: Int)
    /// The frame at this position did not verify: tampered, replayed, reordered, dropped before it, sealed for the
    /// other direction, or under other keys.
    case authenticationFailed(frame: UInt64)
    /// 2^64 − 1 frames went one way: the counter would wrap and repeat a nonce.
    case counterExhausted
    /// An earlier frame failed to open; this opener opens nothing more.
    case refusedAfterFailure

    public var description: String {
        switch self {
        case .tooShort(let length):
            "sealed frame of \(length) bytes is shorter than its \(SealedChannel.overhead)-byte tag"
        case .authenticationFailed(let frame):
            "sealed frame \(frame) failed authentication (tampered, replayed, reordered or misdirected)"
        case .counterExhausted:
            "frame counter exhausted: the link must be re-established"
        case .refusedAfterFailure:
            "frame refused: an earlier frame on this link failed to open"
        }
    }
}
