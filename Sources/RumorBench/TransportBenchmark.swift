import RumorCore
import RumorUV

/// Streams Gossip frames of one size between two runtimes' transports on loopback, each on its own loop
/// thread, for a fixed time. The receiver decodes every frame into a `Message` and hands it to its
/// handler, as a node does; the figures are what the receiver counted.
public enum TransportBenchmark {
    public struct Figures: Sendable {
        public var frameSize: Int
        public var frames: Int
        public var bytes: Int
        public var seconds: Double

        public var framesPerSecond: Double { Double(frames) / seconds }
        public var megabytesPerSecond: Double { Double(bytes) / seconds / 1e6 }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The Gossip message whose frame is exactly `frameSize` bytes (at least the empty-payload size).
    public static func gossip(frameSize: Int) -> Message {
        let id = MessageID(origin: NodeID("b")!, epoch: 1, sequence: 1)
        let overhead = MessageCodec.frameSize(of: .gossip(Gossip(id: id, round: 0, payload: [])))
        return .gossip(Gossip(id: id, round: 0, payload: [UInt8](repeating: 0x5A, count: max(0, frameSize - overhead))))
    }

    public static func run(frameSize: Int, duration: Duration) async throws -> Figures {
        let senderLoop = try EventLoop()
        let receiverLoop = try EventLoop()
        senderLoop.start()
        receiverLoop.start()
        defer {
            senderLoop.shutdown()
            receiverLoop.shutdown()
        }
        let message = gossip(frameSize: frameSize)
        let size = MessageCodec.frameSize(of: message)
        let receiver = BenchmarkReceiver(eventLoop: receiverLoop)
        let address = try await receiverLoop.submit { () -> Result<PeerAddress, UVError> in
            do throws(UVError) { return .success(try receiver.listen()) } catch { return .failure(error) }
        }.get()
        let figures: Result<Figures, Failure> = await withCheckedContinuation { continuation in
            receiverLoop.execute { receiver.finished = { continuation.resume(returning: $0) } }
            senderLoop.execute {
                BenchmarkSender.start(eventLoop: senderLoop, to: address, message: message, duration: duration) { failure in
                    receiverLoop.execute { receiver.fail(failure) }
                }
            }
        }
        var result = try figures.get()
        result.frameSize = size
        return result
    }
}

private final class BenchmarkReceiver: TCPConnectionDelegate, @unchecked Sendable {
    let eventLoop: EventLoop
    var listener: TCPListener?
    var connection: TCPConnection?
    var frames = 0
    var bytes = 0
    var firstFrameAt: UInt64 = 0
    var lastFrameAt: UInt64 = 0
    var finished: ((Result<TransportBenchmark.Figures, TransportBenchmark.Failure>) -> Void)?

    init(eventLoop: EventLoop) { self.eventLoop = eventLoop }

    func listen() throws(UVError) -> PeerAddress {
        let listener = try TCPListener(eventLoop: eventLoop, address: PeerAddress(host: "127.0.0.1", port: 0)) { [unowned self] listener in
            let connection = TCPConnection(eventLoop: self.eventLoop, id: LinkID(1), limits: ConnectionLimits())
            guard listener.acceptInto(connection) else { return connection.close() }
            connection.delegate = self
            self.connection = connection
            connection.startReading()
            listener.close()
        }
        self.listener = listener
        return listener.boundAddress!
    }

    func connection(_ connection: TCPConnection, received message: Message) {
        // The dispatch a node does: look at the message and act on its kind.
        if case .gossip = message { frames += 1 }
    }

    func connectionFinishedReadBatch(_ connection: TCPConnection, frames: Int, bytes: Int) {
        let now = EventLoop.monotonicNanoseconds()
        if firstFrameAt == 0 { firstFrameAt = now }
        lastFrameAt = now
        self.bytes += bytes
    }

    func connection(_ connection: TCPConnection, rejectedFrame error: WireError) {
        fail(TransportBenchmark.Failure(description: "receiver rejected a frame: \(error)"))
    }

    func connection(_ connection: TCPConnection, flushed frames: Int, bytes: Int) {}
    func connectionDrained(_ connection: TCPConnection) {}
    func connection(_ connection: TCPConnection, couldNotSend type: MessageType, size: Int) {}

    func connection(_ connection: TCPConnection, closed reason: String, overflowed: Bool) {
        let seconds = Double(lastFrameAt &- firstFrameAt) / 1e9
        finished?(.success(TransportBenchmark.Figures(frameSize: 0, frames: frames, bytes: bytes, seconds: max(seconds, 1e-9))))
        finished = nil
    }

    func fail(_ failure: TransportBenchmark.Failure) {
        listener?.close()
        connection?.abort(reason: "benchmark failed")
        finished?(.failure(failure))
        finished = nil
    }
}

private final class BenchmarkSender: TCPConnectionDelegate {
    let message: Message
    let deadline: UInt64
    /// Bytes queued per flush: enough to amortise a write call over many frames.
    let batchBytes = 512 << 10
    var connection: TCPConnection?
    var retainSelf: BenchmarkSender?

    init(message: Message, deadline: UInt64) {
        self.message = message
        self.deadline = deadline
    }

    static func start(eventLoop: EventLoop, to address: PeerAddress, message: Message, duration: Duration,
                      failed: @escaping (TransportBenchmark.Failure) -> Void) {
        let sender = BenchmarkSender(message: message, deadline: EventLoop.monotonicNanoseconds() + UInt64(duration.nanosecondsRounded))
        sender.retainSelf = sender
        let connection = TCPConnection(eventLoop: eventLoop, id: LinkID(1), limits: ConnectionLimits())
        _ = TCPConnector(handle: connection, address: address, timeout: .seconds(2)) { result in
            switch result {
            case .success:
                connection.delegate = sender
                sender.connection = connection
                connection.startReading()
                sender.fill()
            case .failure(let error):
                sender.retainSelf = nil
                failed(TransportBenchmark.Failure(description: "connect failed: \(error)"))
            }
        }
    }

    /// Keeps one batch on the wire and one ready behind it.
    func fill() {
        guard let connection else { return }
        if EventLoop.monotonicNanoseconds() >= deadline {
            connection.closeGracefully(reason: "benchmark over")
            return
        }
        while connection.queuedBytes < 2 * batchBytes {
            guard connection.send(message) else { return }
            if connection.queuedBytes >= batchBytes { connection.flush() }
        }
    }

    func connectionDrained(_ connection: TCPConnection) { fill() }
    func connection(_ connection: TCPConnection, received message: Message) {}
    func connection(_ connection: TCPConnection, rejectedFrame error: WireError) {}
    func connectionFinishedReadBatch(_ connection: TCPConnection, frames: Int, bytes: Int) {}
    func connection(_ connection: TCPConnection, flushed frames: Int, bytes: Int) {}
    func connection(_ connection: TCPConnection, couldNotSend type: MessageType, size: Int) {}

    func connection(_ connection: TCPConnection, closed reason: String, overflowed: Bool) {
        self.connection = nil
        retainSelf = nil
    }
}
