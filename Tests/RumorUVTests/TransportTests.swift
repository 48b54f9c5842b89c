import Synchronization
import Testing
import RumorCore
@testable import RumorUV

/// Collects what a connection reports, on its loop.
final class RecordingDelegate: TCPConnectionDelegate, @unchecked Sendable {
    var messages: [Message] = []
    var rejected: [WireError] = []
    var closedReason: String?
    var overflowed = false
    var onMessage: ((Message) -> Void)?
    var onClose: ((String) -> Void)?

    func connection(_ connection: TCPConnection, received message: Message) {
        messages.append(message)
        onMessage?(message)
    }
    func connection(_ connection: TCPConnection, rejectedFrame error: WireError) { rejected.append(error) }
    func connection(_ connection: TCPConnection, couldNotSend type: MessageType, size: Int) {}
    func connectionFinishedReadBatch(_ connection: TCPConnection, frames: Int, bytes: Int) { connection.flush() }
    func connection(_ connection: TCPConnection, flushed frames: Int, bytes: Int) {}
    func connectionDrained(_ connection: TCPConnection) {}
    func connection(_ connection: TCPConnection, closed reason: String, overflowed: Bool) {
        closedReason = reason
        self.overflowed = overflowed
        onClose?(reason)
    }
}

/// A listener on one loop that accepts a single connection and records it.
final class SingleAcceptor: @unchecked Sendable {
    let delegate = RecordingDelegate()
    var listener: TCPListener?
    var connection: TCPConnection?

    func listen(on eventLoop: EventLoop, limits: ConnectionLimits = ConnectionLimits()) async throws -> PeerAddress {
        try await eventLoop.submit { () -> Result<PeerAddress, UVError> in
            do throws(UVError) {
                let listener = try TCPListener(eventLoop: eventLoop, address: PeerAddress(host: "127.0.0.1", port: 0)) { [unowned self] listener in
                    let connection = TCPConnection(eventLoop: eventLoop, id: LinkID(1), limits: limits)
                    guard listener.acceptInto(connection) else { return connection.close() }
                    connection.delegate = self.delegate
                    self.connection = connection
                    connection.startReading()
                }
                self.listener = listener
                return .success(listener.boundAddress!)
            } catch {
                return .failure(error)
            }
        }.get()
    }
}

/// Connects a `TCPConnection` on `eventLoop`, reporting the outcome.
func connect(on eventLoop: EventLoop, to address: PeerAddress, delegate: RecordingDelegate,
             limits: ConnectionLimits = ConnectionLimits()) async -> Result<TCPConnection, TCPConnector.ConnectError> {
    await withCheckedContinuation { continuation in
        eventLoop.execute {
            let connection = TCPConnection(eventLoop: eventLoop, id: LinkID(2), limits: limits)
            _ = TCPConnector(handle: connection, address: address, timeout: limits.connectTimeout) { result in
                switch result {
                case .success:
                    connection.delegate = delegate
                    connection.startReading()
                    continuation.resume(returning: .success(connection))
                case .failure(let error):
                    continuation.resume(returning: .failure(error))
                }
            }
        }
    }
}

extension TCPConnection: @unchecked Sendable {}

/// Sends Gossip frames numbered 0 ..< total, a thousand per loop turn so the queue limit is never reached.
final class SequencedSender: @unchecked Sendable {
    let connection: TCPConnection
    let eventLoop: EventLoop
    let total: Int
    var sequence = 0

    init(connection: TCPConnection, eventLoop: EventLoop, total: Int) {
        self.connection = connection
        self.eventLoop = eventLoop
        self.total = total
    }

    func burst() {
        for _ in 0..<1000 where sequence < total {
            let id = MessageID(origin: NodeID("s")!, epoch: 1, sequence: UInt64(sequence))
            connection.send(.gossip(Gossip(id: id, round: 0, payload: Array(repeating: UInt8(sequence & 0xFF), count: 16))))
            sequence += 1
        }
        connection.flush()
        if sequence < total { eventLoop.execute { self.burst() } }
    }
}

@Suite("libuv transport", .serialized)
struct TransportTests {
    @Test("two loops exchange 100,000 frames over loopback, in order, with none lost")
    func hundredThousandFramesInOrder() async throws {
        let receiverLoop = try EventLoop()
        let senderLoop = try EventLoop()
        receiverLoop.start()
        senderLoop.start()
        let acceptor = SingleAcceptor()
        let address = try await acceptor.listen(on: receiverLoop)
        let total = 100_000
        let finished: Void = await withCheckedContinuation { continuation in
            receiverLoop.execute {
                acceptor.delegate.onMessage = { _ in
                    if acceptor.delegate.messages.count == total { continuation.resume() }
                }
            }
            senderLoop.execute {
                let connection = TCPConnection(eventLoop: senderLoop, id: LinkID(9), limits: ConnectionLimits())
                _ = TCPConnector(handle: connection, address: address, timeout: .seconds(2)) { result in
                    guard case .success = result else { return }
                    connection.startReading()
                    SequencedSender(connection: connection, eventLoop: senderLoop, total: total).burst()
                }
            }
        }
        _ = finished
        await receiverLoop.submit { acceptor.delegate.onMessage = nil }
        let sequences = await receiverLoop.submit {
            acceptor.delegate.messages.compactMap { message -> UInt64? in
                if case .gossip(let gossip) = message { return gossip.id.sequence } else { return nil }
            }
        }
        #expect(sequences.count == total)
        #expect(sequences == (0..<UInt64(total)).map { $0 })
        senderLoop.shutdown()
        receiverLoop.shutdown()
        #expect(senderLoop.closeResult == 0)
        #expect(receiverLoop.closeResult == 0)
    }

    @Test("a connect to a closed port reports an error within the connect timeout")
    func connectToClosedPort() async throws {
        let eventLoop = try EventLoop()
        eventLoop.start()
        var limits = ConnectionLimits()
        limits.connectTimeout = .seconds(1)
        let clock = ContinuousClock()
        let started = clock.now
        // Port 1 on loopback: nothing listens there.
        let result = await connect(on: eventLoop, to: PeerAddress(host: "127.0.0.1", port: 1), delegate: RecordingDelegate(), limits: limits)
        let elapsed = clock.now - started
        guard case .failure(let error) = result else {
            Issue.record("connected to a closed port")
            return
        }
        #expect(error.description.contains("ECONNREFUSED"), "\(error)")
        #expect(elapsed <= .seconds(1) + .milliseconds(500))
        eventLoop.shutdown()
        #expect(eventLoop.closeResult == 0)
    }

    @Test("a connect that gets no answer fails at the timeout, not later")
    func connectTimeout() async throws {
        let eventLoop = try EventLoop()
        eventLoop.start()
        var limits = ConnectionLimits()
        limits.connectTimeout = .milliseconds(300)
        // A listener with a backlog of 0 that never accepts: once its queue is full the kernel drops
        // further SYNs, so those connects get no answer at all.
        let silent = try SilentListener()
        let clock = ContinuousClock()
        var timedOut = false
        for _ in 0..<6 where !timedOut {
            let started = clock.now
            let result = await connect(on: eventLoop, to: silent.address, delegate: RecordingDelegate(), limits: limits)
            #expect(clock.now - started <= .milliseconds(800))
            if case .failure(let error) = result {
                #expect(error.description.contains("timed out"), "\(error)")
                timedOut = true
            }
        }
        #expect(timedOut)
        eventLoop.shutdown()
        #expect(eventLoop.closeResult == 0)
    }

    @Test("a peer that stops reading is disconnected once its write queue passes the limit, and it is counted")
    func slowPeerIsDisconnected() async throws {
        let receiverLoop = try EventLoop()
        let senderLoop = try EventLoop()
        receiverLoop.start()
        senderLoop.start()
        let acceptor = SingleAcceptor()
        let address = try await acceptor.listen(on: receiverLoop)
        // The receiver stops reading as soon as it accepts.
        await receiverLoop.submit { acceptor.delegate.onMessage = nil }
        var limits = ConnectionLimits()
        limits.maximumQueuedBytes = 256 << 10
        let delegate = RecordingDelegate()
        guard case .success(let connection) = await connect(on: senderLoop, to: address, delegate: delegate, limits: limits) else {
            Issue.record("connect failed")
            return
        }
        let paused = await eventually { await receiverLoop.submit { acceptor.connection?.pauseReading() != nil } }
        #expect(paused)
        // 120 KB per loop turn, under the queue limit each time: only a peer that stops draining makes the
        // queue grow past it, once the kernel's socket buffers are full.
        let payload = [UInt8](repeating: 1, count: 60_000)
        var sequence: UInt64 = 0
        var overflowed = false
        for _ in 0..<2000 where !overflowed {
            let first = sequence
            sequence += 2
            overflowed = await senderLoop.submit {
                for offset in UInt64(0)..<2 {
                    let id = MessageID(origin: NodeID("s")!, epoch: 1, sequence: first + offset)
                    if !connection.send(.gossip(Gossip(id: id, round: 0, payload: payload))) { break }
                }
                connection.flush()
                return delegate.overflowed
            }
        }
        #expect(overflowed)
        #expect(sequence > 20, "the queue must overflow only after the socket buffers filled, not at once")
        #expect(delegate.closedReason?.contains("write queue") == true)
        senderLoop.shutdown()
        receiverLoop.shutdown()
        #expect(senderLoop.closeResult == 0 && receiverLoop.closeResult == 0)
    }
}
