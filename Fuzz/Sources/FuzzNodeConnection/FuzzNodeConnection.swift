// A node's links fed hostile byte streams. The node starts, link 1 opens inbound, and the input is a list of
// steps (see FuzzSupport/NodeScript): frames into per-link FrameAssemblers (each decoded message goes in as
// .received, a decode error as .malformedFrame, after which that link is gone), links closing, connects failing,
// local publishes, and the timers the node armed fired earliest first, the clock jumping to each one's deadline.
// After the last step up to 32 more timers fire (handshake deadlines, silence, graft retries), then the node stops.
//
// The node must never trap, everything it asks to send must be a frame its peers accept (within the frame
// limit, and decoding back to the same message), and its invariants hold after every step (the checker is
// on; a violation traps, which libFuzzer reports as a crash with the input that caused it).
#if canImport(Glibc)
import Glibc
#endif
import FuzzSupport
import RumorCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    var driver = Driver()
    driver.deliver(.start)
    driver.open(slot: 0)
    while let control = input.byte() {
        let step = NodeStep(control: control)
        for _ in 0..<step.timersToFire { driver.fireNextTimer() }
        switch step.action {
        case .frame:
            driver.receive(frameBytes(&input, limit: driver.maximumFrameSize), slot: step.slot)
        case .closeLink:
            driver.closeLink(slot: step.slot)
        case .connectFailed:
            driver.failConnect()
        case .publish:
            let payload = input.take(upTo: Int(input.byte() ?? 0))
            driver.publish(Array(payload))
        case .wait:
            break
        }
    }
    for _ in 0..<32 {
        if !driver.fireNextTimer() { break }
    }
    driver.deliver(.stop)
    driver.checkDeepInvariants()
    return 0
}

/// A frame's length prefix (up to 4 bytes) and up to that many body bytes; no body when the prefix is over the
/// limit, since the assembler refuses the frame on its prefix alone.
private func frameBytes(_ input: inout FuzzInput, limit: Int) -> [UInt8] {
    let prefix = Array(input.take(upTo: WireFormat.lengthPrefixSize))
    guard prefix.count == WireFormat.lengthPrefixSize else { return prefix }
    let length = prefix.reduce(0) { $0 << 8 | Int($1) }
    guard length <= limit else { return prefix }
    return prefix + input.take(upTo: length)
}

/// What the runtime does around a node, in memory: links with their read buffers, timers, pending connects.
private struct Driver {
    struct Link {
        var id: LinkID
        var assembler: FrameAssembler
    }

    var node = Node(configuration: NodeFixtures.configuration, randomSeed: 0x5EED, logger: NodeFixtures.silentLogger)
    var now = Timestamp.zero
    var slots = [Link?](repeating: nil, count: NodeStep.slotCount)
    var nextLinkID: UInt64 = 1
    /// Addresses the node asked to connect to and has not heard back about, oldest first.
    var pendingConnects: [PeerAddress] = []
    /// Armed timers with their deadlines; `order` breaks ties by arming order.
    var timers: [(timer: NodeTimer, deadline: Timestamp, order: Int)] = []
    var armings = 0

    var maximumFrameSize: Int { node.configuration.maximumFrameSize }

    let tracing = getenv("RUMOR_FUZZ_TRACE") != nil

    init() { node.checksInvariants = true }

    mutating func deliver(_ event: NodeEvent) {
        let effects = node.handle(event, at: now)
        // RUMOR_FUZZ_TRACE=1 when replaying a finding: every event and what the node did about it.
        if tracing { print("\(now) \(event)\n    -> \(effects)") }
        apply(effects)
        trapOnViolations()
    }

    /// The node checked itself after the step it just took; a broken invariant is a finding.
    private mutating func trapOnViolations() {
        if let violation = node.takeInvariantViolations().first { fatalError("\(violation)") }
    }

    func checkDeepInvariants() {
        if let violation = node.deepInvariantViolations().first { fatalError("\(violation)") }
    }

    private mutating func apply(_ effects: [NodeEffect]) {
        for effect in effects {
            switch effect {
            case .connect(let address):
                pendingConnects.append(address)
            case .send(_, let message):
                checkSendable(message)
            case .setWireVersion:
                break
            case .close(let link, _):
                if let slot = slots.firstIndex(where: { $0?.id == link }) { slots[slot] = nil }
            case .armTimer(let timer, let delay):
                timers.removeAll { $0.timer == timer }
                timers.append((timer, now + delay, armings))
                armings += 1
            case .cancelTimer(let timer):
                timers.removeAll { $0.timer == timer }
            case .deliver, .memberEvent:
                break
            }
        }
    }

    /// Opens a link in `slot`: outbound to the oldest pending connect if there is one, else inbound. Slot 0's
    /// first link is link 1, inbound.
    mutating func open(slot: Int) {
        let id = LinkID(nextLinkID)
        nextLinkID += 1
        let direction: LinkDirection
        if id != NodeFixtures.firstLink, !pendingConnects.isEmpty {
            direction = .outbound(pendingConnects.removeFirst())
        } else {
            direction = .inbound(remote: id == NodeFixtures.firstLink ? NodeFixtures.firstLinkRemote : "127.0.0.1:\(40_000 + id.rawValue)")
        }
        slots[slot] = Link(id: id, assembler: FrameAssembler(maximumFrameSize: maximumFrameSize))
        deliver(.linkOpened(id, direction))
    }

    mutating func receive(_ bytes: [UInt8], slot: Int) {
        if slots[slot] == nil { open(slot: slot) }
        slots[slot]?.assembler.append(bytes)
        // Until the assembler needs more bytes, or the link is gone (the node closed it on a message).
        while let link = slots[slot]?.id {
            do throws(WireError) {
                guard let message = try slots[slot]?.assembler.nextMessage() else { return }
                deliver(.received(link, message))
            } catch {
                slots[slot] = nil
                deliver(.malformedFrame(link, error))
            }
        }
    }

    mutating func closeLink(slot: Int) {
        guard let link = slots[slot]?.id else { return }
        slots[slot] = nil
        deliver(.linkClosed(link, reason: "closed by the fuzzer"))
    }

    mutating func failConnect() {
        guard !pendingConnects.isEmpty else { return }
        deliver(.connectFailed(pendingConnects.removeFirst(), reason: "refused by the fuzzer", refused: true))
    }

    mutating func publish(_ payload: [UInt8]) {
        do throws(PublishError) {
            apply(try node.publish(payload, at: now).effects)
            trapOnViolations()
        } catch {}
    }

    /// Fires the earliest armed timer, moving the clock to its deadline; false when none is armed.
    @discardableResult
    mutating func fireNextTimer() -> Bool {
        guard let next = timers.indices.min(by: { (timers[$0].deadline, timers[$0].order) < (timers[$1].deadline, timers[$1].order) }) else {
            return false
        }
        let (timer, deadline, _) = timers.remove(at: next)
        now = max(now, deadline)
        deliver(.timerFired(timer))
        return true
    }

    /// A frame the node sends must be one its peer accepts.
    private func checkSendable(_ message: Message) {
        let size = MessageCodec.bodySize(of: message)
        guard size <= maximumFrameSize else {
            fuzzFailure("the node sent a \(size)-byte \(message.type) body, over the \(maximumFrameSize)-byte frame limit")
        }
        let body = MessageCodec.encodeBody(message)
        do throws(WireError) {
            let decoded = try MessageCodec.decodeBody(body)
            guard decoded == message else { fuzzFailure("the node sent \(message), which decodes as \(decoded)") }
        } catch {
            fuzzFailure("the node sent \(message.type) that its peer cannot decode (\(error)): \(message)")
        }
    }
}
