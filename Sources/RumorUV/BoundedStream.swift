import Synchronization

/// What a subscriber to one of the node's record streams sees: each record, or how many it missed by being
/// too slow.
public enum BoundedStreamEvent<Record: Sendable>: Sendable {
    case record(Record)
    case lagged(missed: Int)
}

/// A node's records (deliveries, member events) for one subscriber, from when it subscribed. At most `buffer`
/// wait unread; beyond that new records are skipped and counted, and the subscriber's next read reports them
/// as `.lagged`, so a slow consumer never slows the node nor grows its memory, and always learns what it lost.
public struct BoundedStream<Record: Sendable>: AsyncSequence, Sendable {
    public typealias Element = BoundedStreamEvent<Record>

    let records: AsyncStream<Record>
    let backlog: StreamBacklog

    public struct AsyncIterator: AsyncIteratorProtocol {
        var records: AsyncStream<Record>.AsyncIterator
        let backlog: StreamBacklog

        public mutating func next() async -> BoundedStreamEvent<Record>? {
            if let skipped = backlog.takeSkipped() { return .lagged(missed: skipped) }
            guard let record = await records.next() else { return nil }
            backlog.read()
            return .record(record)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(records: records.makeAsyncIterator(), backlog: backlog)
    }
}

/// Unread and skipped counts of one subscriber, shared by the node's loop (which offers) and the reader
/// (which takes).
final class StreamBacklog: Sendable {
    private let counts = Mutex<(unread: Int, skipped: Int)>((0, 0))
    let limit: Int

    init(limit: Int) { self.limit = Swift.max(1, limit) }

    /// Whether one more record may be queued; if not, it is counted as skipped.
    func admit() -> Bool {
        counts.withLock { counts in
            guard counts.unread < limit else {
                counts.skipped += 1
                return false
            }
            counts.unread += 1
            return true
        }
    }

    func read() { counts.withLock { $0.unread -= 1 } }

    func takeSkipped() -> Int? {
        counts.withLock { counts in
            defer { counts.skipped = 0 }
            return counts.skipped > 0 ? counts.skipped : nil
        }
    }
}

/// The live subscribers of one kind of record, on the loop thread.
final class StreamSubscribers<Record: Sendable> {
    private var subscribers: [UInt64: (continuation: AsyncStream<Record>.Continuation, backlog: StreamBacklog)] = [:]
    private var nextKey: UInt64 = 0
    /// Set when the node stopped: a later subscriber gets a stream that has already ended.
    private var finished = false

    func subscribe(buffer: Int, removal: @escaping @Sendable (UInt64) -> Void) -> BoundedStream<Record> {
        let key = nextKey
        nextKey += 1
        let backlog = StreamBacklog(limit: buffer)
        let (stream, continuation) = AsyncStream<Record>.makeStream(bufferingPolicy: .unbounded)
        if finished {
            continuation.finish()
        } else {
            continuation.onTermination = { _ in removal(key) }
            subscribers[key] = (continuation, backlog)
        }
        return BoundedStream(records: stream, backlog: backlog)
    }

    func unsubscribe(_ key: UInt64) { subscribers[key] = nil }

    func offer(_ record: Record) {
        for subscriber in subscribers.values where subscriber.backlog.admit() {
            subscriber.continuation.yield(record)
        }
    }

    func finishAll() {
        finished = true
        for subscriber in subscribers.values { subscriber.continuation.finish() }
        subscribers.removeAll()
    }
}
