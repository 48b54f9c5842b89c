import Glibc
import RumorCore

/// A delivery as the runtime records it: numbered in arrival order, with the local wall-clock time.
public struct RecordedDelivery: Sendable {
    public var sequence: UInt64
    public var delivery: Delivery
    /// Nanoseconds since the Unix epoch when the node delivered it.
    public var receivedNanoseconds: UInt64
}

/// What a subscriber to deliveries sees: each delivery, or how many it missed by being too slow.
public enum DeliveryEvent: Sendable {
    case delivery(RecordedDelivery)
    case lagged(missed: Int)
}

/// The recent deliveries of a node, for `/deliveries?after=N`, and the live subscribers. A subscriber that
/// falls behind by more than its buffer loses the oldest and is told how many, instead of slowing the node.
final class DeliveryLog {
    private var ring: [RecordedDelivery] = []
    private var start = 0
    let capacity: Int
    private(set) var nextSequence: UInt64 = 1
    private var subscribers: [UInt64: Subscriber] = [:]
    private var nextSubscriber: UInt64 = 0

    private struct Subscriber {
        var continuation: AsyncStream<DeliveryEvent>.Continuation
        var missed = 0
    }

    init(capacity: Int) { self.capacity = capacity }

    func record(_ delivery: Delivery) {
        var clock = timespec()
        clock_gettime(CLOCK_REALTIME, &clock)
        let recorded = RecordedDelivery(sequence: nextSequence, delivery: delivery,
                                        receivedNanoseconds: UInt64(clock.tv_sec) * 1_000_000_000 + UInt64(clock.tv_nsec))
        nextSequence += 1
        if ring.count < capacity {
            ring.append(recorded)
        } else {
            ring[start] = recorded
            start = (start + 1) % capacity
        }
        for (key, var subscriber) in subscribers {
            if subscriber.missed > 0, case .enqueued = subscriber.continuation.yield(.lagged(missed: subscriber.missed)) {
                subscriber.missed = 0
            }
            if case .dropped = subscriber.continuation.yield(.delivery(recorded)) { subscriber.missed += 1 }
            subscribers[key] = subscriber
        }
    }

    /// Deliveries numbered above `sequence`, oldest first, at most `limit`.
    func after(_ sequence: UInt64, limit: Int) -> [RecordedDelivery] {
        let ordered = ring.count < capacity ? ring : Array(ring[start...] + ring[..<start])
        return Array(ordered.drop { $0.sequence <= sequence }.prefix(limit))
    }

    func subscribe(buffer: Int, removal: @escaping @Sendable (UInt64) -> Void) -> AsyncStream<DeliveryEvent> {
        let key = nextSubscriber
        nextSubscriber += 1
        let (stream, continuation) = AsyncStream<DeliveryEvent>.makeStream(bufferingPolicy: .bufferingNewest(max(1, buffer)))
        continuation.onTermination = { _ in removal(key) }
        subscribers[key] = Subscriber(continuation: continuation)
        return stream
    }

    func unsubscribe(_ key: UInt64) { subscribers[key] = nil }

    func finishAll() {
        for subscriber in subscribers.values { subscriber.continuation.finish() }
        subscribers.removeAll()
    }
}

/// Standard base64 (RFC 4648) for payloads in JSON.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            let value = UInt32(bytes[index]) << 16 | (rest == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
            output += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)]]
            output += rest == 2 ? [alphabet[Int(value >> 6 & 63)], UInt8(ascii: "=")] : [UInt8(ascii: "="), UInt8(ascii: "=")]
        }
        return String(decoding: output, as: UTF8.self)
    }
}
