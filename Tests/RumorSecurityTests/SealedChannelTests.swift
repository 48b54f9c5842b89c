@preconcurrency import Crypto
import Testing
@testable import RumorSecurity

@Suite("Sealed channel")
struct SealedChannelTests {
    @Test("a sealed body is the plaintext's size plus the 16-byte tag, empty plaintext included")
    func overhead() throws {
        var link = try runHandshake()
        for size in [0, 1, 2, 100, 70_000] {
            let plaintext = [UInt8](repeating: 0xAB, count: size)
            let sealed = try link.initiator.seal(plaintext)
            #expect(sealed.count == SealedChannel.sealedSize(plaintextSize: size))
            #expect(sealed.count == size + SealedChannel.overhead && SealedChannel.overhead == 16)
            #expect(try link.responder.open(sealed) == plaintext)
        }
    }

    @Test("the same plaintext sealed twice gives different bytes: each frame has its own nonce")
    func nonceAdvances() throws {
        var link = try runHandshake()
        let first = try link.initiator.seal([1, 2, 3])
        let second = try link.initiator.seal([1, 2, 3])
        #expect(first != second)
        #expect(link.initiator.sealer.nextCounter == 2)
    }

    @Test("a frame with any one bit flipped fails to open, and the opener then refuses even genuine frames")
    func bitFlip() throws {
        let plaintext = Array("gossip payload".utf8)
        let sealedSize = plaintext.count + SealedChannel.overhead
        for index in 0..<sealedSize {
            for bit in [0, 5] {
                var link = try runHandshake(initiatorSource: SeededKeySource(seed: 1), responderSource: SeededKeySource(seed: 2))
                let sealed = try link.initiator.seal(plaintext)
                let next = try link.initiator.seal(plaintext)
                #expect(throws: SealError.authenticationFailed(frame: 0)) { try link.responder.open(sealed.flippingBit(bit, at: index)) }
                #expect(link.responder.opener.hasFailed)
                #expect(throws: SealError.refusedAfterFailure) { try link.responder.open(sealed) }
                #expect(throws: SealError.refusedAfterFailure) { try link.responder.open(next) }
            }
        }
    }

    @Test("a frame replayed after it was opened fails")
    func replay() throws {
        var link = try runHandshake()
        let sealed = try link.initiator.seal([9, 9])
        #expect(try link.responder.open(sealed) == [9, 9])
        #expect(throws: SealError.authenticationFailed(frame: 1)) { try link.responder.open(sealed) }
    }

    @Test("two frames opened in swapped order fail at the first")
    func reorder() throws {
        var link = try runHandshake()
        let first = try link.initiator.seal([1])
        let second = try link.initiator.seal([2])
        #expect(throws: SealError.authenticationFailed(frame: 0)) { try link.responder.open(second) }
        #expect(throws: SealError.refusedAfterFailure) { try link.responder.open(first) }
    }

    @Test("a dropped frame makes the next one fail")
    func drop() throws {
        var link = try runHandshake()
        _ = try link.initiator.seal([1])
        let second = try link.initiator.seal([2])
        #expect(throws: SealError.authenticationFailed(frame: 0)) { try link.responder.open(second) }
    }

    @Test("a frame reflected back to its sender, or fed to the other direction's opener, fails")
    func wrongDirection() throws {
        var link = try runHandshake()
        let fromInitiator = try link.initiator.seal([1, 2, 3])
        #expect(throws: SealError.authenticationFailed(frame: 0)) { try link.initiator.open(fromInitiator) }

        var other = try runHandshake()
        let fromResponder = try other.responder.seal([4, 5, 6])
        #expect(throws: SealError.authenticationFailed(frame: 0)) { try other.responder.open(fromResponder) }
        #expect(link.initiator.opener.direction == .responderToInitiator)
        #expect(link.initiator.sealer.direction == .initiatorToResponder)
    }

    @Test("a frame from another link with the same cluster key fails: each handshake derives its own keys")
    func otherLink() throws {
        var first = try runHandshake()
        var second = try runHandshake()
        let sealed = try first.initiator.seal([1])
        #expect(throws: SealError.authenticationFailed(frame: 0)) { try second.responder.open(sealed) }
    }

    @Test("a body shorter than a tag is refused as too short, and the opener stays failed")
    func tooShort() throws {
        var link = try runHandshake()
        #expect(throws: SealError.tooShort(length: 15)) { try link.responder.open([UInt8](repeating: 0, count: 15)) }
        #expect(throws: SealError.refusedAfterFailure) { try link.responder.open(link.initiator.seal([])) }
    }

    @Test("sealed bodies open from any contiguous bytes, such as a slice of a read buffer")
    func openFromSlice() throws {
        var link = try runHandshake()
        let sealed = try link.initiator.seal(Array("frame".utf8))
        let buffer = [0, 0, 0, 21] + sealed + [0xEE]
        #expect(try link.responder.open(buffer[4..<4 + sealed.count]) == Array("frame".utf8))
        let next = try link.initiator.seal([7])
        let opened = try next.withUnsafeBytes { bytes in try link.responder.open(bytes) }
        #expect(opened == [7])
    }

    @Test("a sealer stops at the last counter instead of wrapping, and so does an opener")
    func counterExhaustion() throws {
        let key = SymmetricKey(size: .bits256)
        var sealer = Sealer(key: key, direction: .initiatorToResponder, nextCounter: .max - 1)
        var opener = Opener(key: key, direction: .initiatorToResponder, nextCounter: .max - 1)
        #expect(try opener.open(sealer.seal([1])) == [1])
        #expect(sealer.nextCounter == .max)
        #expect(throws: SealError.counterExhausted) { try sealer.seal([2]) }
        #expect(throws: SealError.counterExhausted) { try sealer.seal([2]) }
        #expect(sealer.nextCounter == .max)
        #expect(throws: SealError.counterExhausted) { try opener.open([UInt8](repeating: 0, count: 20)) }
        #expect(throws: SealError.refusedAfterFailure) { try opener.open([UInt8](repeating: 0, count: 20)) }
    }

    @Test("the nonce is 4 zero bytes and the big-endian counter, so frame n opens only at position n")
    func nonceLayout() throws {
        let key = SymmetricKey(size: .bits256)
        var sealer = Sealer(key: key, direction: .responderToInitiator, nextCounter: 0x0102_0304_0506_0708)
        let sealed = try sealer.seal([42])
        let nonce = try ChaChaPoly.Nonce(data: [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
        let box = try ChaChaPoly.SealedBox(nonce: nonce, ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
        let opened = try ChaChaPoly.open(box, using: key, authenticating: Array("rumor v1 responder to initiator".utf8))
        #expect(Array(opened) == [42])
    }
}
