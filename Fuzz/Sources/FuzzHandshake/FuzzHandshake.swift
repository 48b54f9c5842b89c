// The cluster-key handshake and sealed frames on hostile bytes. Any HandshakeError or SealError is a fine answer;
// a trap is a bug, and so is a broken security property:
// - a machine that failed or finished accepts nothing more (`alreadyFinished`);
// - an untouched handshake between the fixed machines succeeds, and one with any message changed does not
//   succeed on both sides;
// - a sealed frame opens to its plaintext exactly when it is the next one in order on an opener that has not
//   failed; a frame with one bit flipped never opens; after a failure the opener refuses everything.
//
// Input: byte 0 picks a `HandshakeFuzzMode`; the rest is 2-byte-length chunks (see FuzzSupport/HandshakeScript).
import Foundation
import FuzzSupport
import RumorSecurity

/// The fixed handshake's channels, made once: each run starts from a copy.
private let fixedChannels = HandshakeFixtures.establishedChannels()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    guard let mode = input.byte() else { return 0 }
    switch HandshakeFuzzMode(byte: mode) {
    case .responder:
        feedResponder(&input)
    case .initiator:
        feedInitiator(&input)
    case .tamperedExchange:
        tamperedExchange(&input)
    case .sealedChannel:
        var sealed = SealedPhase(initiator: fixedChannels.initiator, responder: fixedChannels.responder)
        sealed.run(&input)
    }
    return 0
}

// MARK: Handshake machines alone

private func feedResponder(_ input: inout FuzzInput) {
    var responder = HandshakeResponder(keyring: HandshakeFixtures.keyring, keySource: HandshakeFixtures.responderKeys)
    var finished = false
    while let chunk = input.chunk() {
        do throws(HandshakeError) {
            let step = try responder.receive(chunk)
            if finished { fuzzFailure("a finished responder accepted \(hex(chunk)) and answered \(step)") }
            switch step {
            case .send(let reply):
                guard reply.count == HandshakeFormat.replySize, reply.first == HandshakeMessageKind.reply.rawValue else {
                    fuzzFailure("responder's REPLY is malformed: \(hex(reply))")
                }
            case .established(let channel, let message):
                // Only a CONFIRM with a valid proof gets here: the fuzzer cannot forge one.
                guard message == nil, channel.keyID == HandshakeFixtures.clusterKey.id else {
                    fuzzFailure("responder established oddly: key \(channel.keyID), message \(message.map(hex) ?? "none")")
                }
                finished = true
            }
        } catch {
            if finished, error != .alreadyFinished {
                fuzzFailure("a finished responder answered \(error), not alreadyFinished")
            }
            finished = true
        }
        if finished != responder.isFinished {
            fuzzFailure("responder.isFinished is \(responder.isFinished) after \(finished ? "finishing" : "a HELLO")")
        }
    }
}

private func feedInitiator(_ input: inout FuzzInput) {
    var initiator = HandshakeInitiator(key: HandshakeFixtures.clusterKey, keySource: HandshakeFixtures.initiatorKeys)
    var finished = false
    while let chunk = input.chunk() {
        do throws(HandshakeError) {
            let step = try initiator.receive(chunk)
            if finished { fuzzFailure("a finished initiator accepted \(hex(chunk)) and answered \(step)") }
            // Success needs the responder's proof under the cluster key, which the fuzzer cannot forge.
            guard case .established(_, let confirm?) = step, confirm.count == HandshakeFormat.confirmSize else {
                fuzzFailure("initiator took a REPLY without establishing and confirming: \(step)")
            }
        } catch {
            if finished, error != .alreadyFinished {
                fuzzFailure("a finished initiator answered \(error), not alreadyFinished")
            }
        }
        // The REPLY is the only message it reads, whatever it was.
        finished = true
        if !initiator.isFinished { fuzzFailure("initiator not finished after its one message") }
    }
}

// MARK: A real handshake, tampered with on the wire

private func tamperedExchange(_ input: inout FuzzInput) {
    var initiator = HandshakeInitiator(key: HandshakeFixtures.clusterKey, keySource: HandshakeFixtures.initiatorKeys)
    var responder = HandshakeResponder(keyring: HandshakeFixtures.keyring, keySource: HandshakeFixtures.responderKeys)
    var tampered = false

    func relay(_ message: [UInt8], _ input: inout FuzzInput) -> [UInt8] {
        let relayed = Tamper(chunk: input.chunk()).apply(to: message)
        if relayed != message { tampered = true }
        return relayed
    }

    func refused(_ what: String, _ error: HandshakeError) {
        if !tampered { fuzzFailure("an untouched handshake failed at the \(what): \(error)") }
    }

    let hello = relay(initiator.hello, &input)
    let reply: [UInt8]
    do throws(HandshakeError) {
        guard case .send(let sent) = try responder.receive(hello) else { fuzzFailure("responder established on a HELLO") }
        reply = sent
    } catch {
        return refused("HELLO", error)
    }

    let relayedReply = relay(reply, &input)
    let initiatorChannel: SealedChannel
    let confirm: [UInt8]
    do throws(HandshakeError) {
        guard case .established(let channel, let sent?) = try initiator.receive(relayedReply) else {
            fuzzFailure("initiator took the REPLY without a CONFIRM to send")
        }
        initiatorChannel = channel
        confirm = sent
    } catch {
        return refused("REPLY", error)
    }

    let relayedConfirm = relay(confirm, &input)
    let responderChannel: SealedChannel
    do throws(HandshakeError) {
        guard case .established(let channel, nil) = try responder.receive(relayedConfirm) else {
            fuzzFailure("responder took the CONFIRM without establishing, or with something to send")
        }
        responderChannel = channel
    } catch {
        return refused("CONFIRM", error)
    }

    if tampered {
        fuzzFailure("SECURITY: both sides established although a message was changed on the wire\n"
            + "  HELLO \(hex(hello))\n  REPLY \(hex(relayedReply))\n  CONFIRM \(hex(relayedConfirm))")
    }
    guard initiatorChannel.keyID == HandshakeFixtures.clusterKey.id, responderChannel.keyID == initiatorChannel.keyID else {
        fuzzFailure("channels name keys \(initiatorChannel.keyID) and \(responderChannel.keyID)")
    }
    var sealed = SealedPhase(initiator: initiatorChannel, responder: responderChannel)
    sealed.run(&input)
}

// MARK: Sealed frames

/// Both channels of a link, and a model of each direction to check them against.
private struct SealedPhase {
    struct Model {
        var sealed: UInt64 = 0
        var opened: UInt64 = 0
        var failed = false
        /// False once a raw frame opened: it can only have been a frame the sealer makes (the fuzzer found or
        /// copied one), and the model no longer knows which.
        var exact = true
    }

    /// Index 0: the initiator's channel; 1: the responder's.
    var channels: [SealedChannel]
    /// Index 0: initiator to responder; 1: the other way.
    var models = [Model(), Model()]

    init(initiator: SealedChannel, responder: SealedChannel) {
        channels = [initiator, responder]
    }

    mutating func run(_ input: inout FuzzInput) {
        while let chunk = input.chunk() {
            guard let step = SealedStep(chunk: chunk) else { continue }
            let sender = step.initiatorSends ? 0 : 1
            perform(step, sender: sender, receiver: 1 - sender, direction: sender)
        }
    }

    private mutating func perform(_ step: SealedStep, sender: Int, receiver: Int, direction: Int) {
        switch step.action {
        case .deliver:
            let sealed = seal(step.payload, by: sender, direction: direction)
            open(sealed, by: receiver, direction: direction, expecting: step.payload)
        case .tamper(let selector):
            var sealed = seal(step.payload, by: sender, direction: direction)
            let bit = selector % (sealed.count * 8)
            sealed[bit / 8] ^= 1 << (bit % 8)
            open(sealed, by: receiver, direction: direction, expecting: nil)
        case .raw:
            open(step.payload, by: receiver, direction: direction, expecting: nil, raw: true)
        case .drop:
            _ = seal(step.payload, by: sender, direction: direction)
        }
        let model = models[direction]
        guard channels[sender].sealer.nextCounter == model.sealed || !model.exact,
              channels[receiver].opener.nextCounter == model.opened || !model.exact,
              channels[receiver].opener.hasFailed == model.failed
        else {
            fuzzFailure("channel state (sealed \(channels[sender].sealer.nextCounter), opened \(channels[receiver].opener.nextCounter), "
                + "failed \(channels[receiver].opener.hasFailed)) disagrees with the model \(model)")
        }
    }

    private mutating func seal(_ payload: [UInt8], by sender: Int, direction: Int) -> [UInt8] {
        let sealed: [UInt8]
        do throws(SealError) {
            sealed = try channels[sender].seal(payload)
        } catch {
            fuzzFailure("sealing frame \(models[direction].sealed) failed: \(error)")
        }
        guard sealed.count == SealedChannel.sealedSize(plaintextSize: payload.count) else {
            fuzzFailure("a \(payload.count)-byte plaintext sealed to \(sealed.count) bytes")
        }
        models[direction].sealed += 1
        return sealed
    }

    /// Opens `sealed`. `expecting` is the plaintext if it is a genuine frame, nil if it must not open (tampered)
    /// or may not (raw).
    private mutating func open(_ sealed: [UInt8], by receiver: Int, direction: Int, expecting plaintext: [UInt8]?, raw: Bool = false) {
        var model = models[direction]
        defer { models[direction] = model }
        // A genuine frame opens when nothing before it was lost: it was sealed with the counter the opener expects.
        let inOrder = plaintext != nil && model.sealed == model.opened + 1
        do throws(SealError) {
            let opened = try channels[receiver].open(sealed)
            if model.failed { fuzzFailure("an opener that had failed opened a frame") }
            if raw {
                model.exact = false
            } else if let plaintext {
                if model.exact, !inOrder {
                    fuzzFailure("frame \(model.sealed - 1) opened as frame \(model.opened): a lost frame went unnoticed")
                }
                guard opened == plaintext else {
                    fuzzFailure("frame opened to \(hex(opened)), sealed from \(hex(plaintext))")
                }
            } else {
                fuzzFailure("SECURITY: a frame with one bit flipped opened: \(hex(sealed))")
            }
            model.opened += 1
        } catch {
            if model.failed {
                guard error == .refusedAfterFailure else { fuzzFailure("a failed opener answered \(error), not refusedAfterFailure") }
                return
            }
            if model.exact {
                if let plaintext, inOrder { fuzzFailure("a genuine frame in order failed to open: \(error) (plaintext \(hex(plaintext)))") }
                let expected: SealError = sealed.count < SealedChannel.overhead
                    ? .tooShort(length: sealed.count) : .authenticationFailed(frame: model.opened)
                guard error == expected else { fuzzFailure("opening failed with \(error), expected \(expected)") }
            }
            model.failed = true
        }
    }
}
