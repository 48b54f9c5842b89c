import Logging
import RumorCore

/// The node `FuzzNodeConnection` drives, and the peers its seeds play.
public enum NodeFixtures {
    public static let identity = PeerDescriptor(id: NodeID("fuzz-node")!, address: PeerAddress(host: "127.0.0.1", port: 7000))
    public static let seeds = [PeerAddress(host: "127.0.0.1", port: 7001), PeerAddress(host: "127.0.0.1", port: 7002)]
    /// The first link, opened inbound before the input is read.
    public static let firstLink = LinkID(1)
    public static let firstLinkRemote = "127.0.0.1:1"

    /// Small views, so that a handful of links already fills the active view and evictions, rotations and
    /// passive-view replacement run.
    public static var configuration: NodeConfiguration {
        var configuration = NodeConfiguration(identity: identity, epoch: 7, seeds: seeds)
        configuration.membership.activeViewSize = 3
        configuration.membership.passiveViewSize = 6
        configuration.membership.lostPeerMemory = 8
        return configuration
    }

    /// Logging would dominate the run time (and flood the fuzzer's output).
    public static var silentLogger: Logger {
        Logger(label: "rumor.fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    public static func peer(_ name: String, port: UInt16) -> PeerDescriptor {
        PeerDescriptor(id: NodeID(name)!, address: PeerAddress(host: "127.0.0.1", port: port))
    }
}

/// `FuzzNodeConnection`'s input: a list of steps, each a control byte and the step's operands.
///
///     control: bits 0-1  timers to fire (earliest first) before the step, 0-3
///              bits 2-3  link slot, 0-3 (slot 0 is link 1, open from the start; another slot opens on first
///                        use: outbound to the oldest address the node asked to connect to, else inbound)
///              bits 4-6  action (values above 4 are frames too: most steps should be)
///
///     frame          4-byte big-endian length, then up to that many body bytes, into the slot's FrameAssembler
///     closeLink      the slot's link closes (the peer hung up)
///     connectFailed  the oldest connect the node asked for fails
///     publish        1-byte length, then the payload the node broadcasts
///     wait           nothing but the timers
public struct NodeStep: Equatable, Sendable {
    public enum Action: UInt8, Sendable {
        case frame = 0
        case closeLink = 1
        case connectFailed = 2
        case publish = 3
        case wait = 4
    }

    public static let slotCount = 4

    public var timersToFire: Int
    public var slot: Int
    public var action: Action

    public init(timersToFire: Int = 0, slot: Int = 0, action: Action) {
        precondition((0...3).contains(timersToFire) && (0..<Self.slotCount).contains(slot))
        self.timersToFire = timersToFire
        self.slot = slot
        self.action = action
    }

    public init(control: UInt8) {
        timersToFire = Int(control & 3)
        slot = Int(control >> 2 & 3)
        action = Action(rawValue: control >> 4 & 7) ?? .frame
    }

    public var control: UInt8 {
        UInt8(timersToFire) | UInt8(slot) << 2 | action.rawValue << 4
    }
}

/// Builds `FuzzNodeConnection` inputs for the seed corpus.
public struct NodeScriptBuilder {
    public private(set) var input = FuzzInputBuilder()

    public init() {}

    public var bytes: [UInt8] { input.bytes }

    public mutating func frame(_ message: Message, slot: Int = 0, timers: Int = 0) {
        rawFrame(MessageCodec.encodeFrame(message), slot: slot, timers: timers)
    }

    /// A frame given whole, length prefix included (for malformed ones).
    public mutating func rawFrame(_ frame: [UInt8], slot: Int = 0, timers: Int = 0) {
        input.byte(NodeStep(timersToFire: timers, slot: slot, action: .frame).control)
        input.append(frame)
    }

    public mutating func closeLink(slot: Int, timers: Int = 0) {
        input.byte(NodeStep(timersToFire: timers, slot: slot, action: .closeLink).control)
    }

    public mutating func connectFailed(timers: Int = 0) {
        input.byte(NodeStep(timersToFire: timers, action: .connectFailed).control)
    }

    public mutating func publish(_ payload: [UInt8], timers: Int = 0) {
        input.byte(NodeStep(timersToFire: timers, action: .publish).control)
        input.byte(UInt8(payload.count))
        input.append(payload)
    }

    /// Fires `count` timers, earliest first, and does nothing else.
    public mutating func fireTimers(_ count: Int) {
        var left = count
        while left > 0 {
            let now = min(left, 3)
            input.byte(NodeStep(timersToFire: now, action: .wait).control)
            left -= now
        }
    }
}
