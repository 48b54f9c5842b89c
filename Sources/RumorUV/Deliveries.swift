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

/// The deliveries of one subscriber, from when it subscribed: a `BoundedStream` whose records are
/// deliveries (at most `buffer` unread; a reader that falls behind is told how many it missed).
public struct DeliveryStream: AsyncSequence, Sendable {
    public typealias Element = DeliveryEvent

    let stream: BoundedStream<RecordedDelivery>

    public struct AsyncIterator: AsyncIteratorProtocol {
        var records: BoundedStream<RecordedDelivery>.AsyncIterator

        public mutating func next() async -> DeliveryEvent? {
            switch await records.next() {
            case .record(let delivery): .delivery(delivery)
            case .lagged(let missed): .lagged(missed: missed)
            case nil: nil
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(records: stream.makeAsyncIterator()) }
}

/// The recent deliveries of a node, for `/deliveries?after=N`, and the live subscribers.
final class DeliveryLog {
    private var ring: [RecordedDelivery] = []
    private var start = 0
    let capacity: Int
    /// Payload bytes kept at most: older deliveries go first.
    let maximumBytes: Int
    private var bytes = 0
    /// The oldest delivery that still holds its payload.
    private var oldestWithPayload: UInt64 = 1
    private(set) var nextSequence: UInt64 = 1
    private let subscribers = StreamSubscribers<RecordedDelivery>()

    init(capacity: Int, maximumBytes: Int) {
        self.capacity = capacity
        self.maximumBytes = maximumBytes
    }

    func record(_ delivery: Delivery) {
        let recorded = RecordedDelivery(sequence: nextSequence, delivery: delivery, receivedNanoseconds: WallClock.nanoseconds())
        nextSequence += 1
        bytes += delivery.payload.count
        if ring.count < capacity {
            ring.append(recorded)
        } else {
            bytes -= ring[start].delivery.payload.count
            ring[start] = recorded
            start = (start + 1) % capacity
        }
        // Over the byte limit, the oldest deliveries keep their record but lose their payload.
        let firstKept = nextSequence - UInt64(ring.count)
        oldestWithPayload = max(oldestWithPayload, firstKept)
        while bytes > maximumBytes, oldestWithPayload < nextSequence - 1 {
            let position = (start + Int(oldestWithPayload - firstKept)) % ring.count
            bytes -= ring[position].delivery.payload.count
            ring[position].delivery.payload = []
            oldestWithPayload += 1
        }
        subscribers.offer(recorded)
    }

    /// Deliveries numbered above `sequence`, oldest first, at most `limit`.
    func after(_ sequence: UInt64, limit: Int) -> [RecordedDelivery] {
        let ordered = ring.count < capacity ? ring : Array(ring[start...] + ring[..<start])
        return Array(ordered.drop { $0.sequence <= sequence }.prefix(limit))
    }

    func subscribe(buffer: Int, removal: @escaping @Sendable (UInt64) -> Void) -> DeliveryStream {
        DeliveryStream(stream: subscribers.subscribe(buffer: buffer, removal: removal))
    }

    func unsubscribe(_ key: UInt64) { subscribers.unsubscribe(key) }

    func finishAll() { subscribers.finishAll() }
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
