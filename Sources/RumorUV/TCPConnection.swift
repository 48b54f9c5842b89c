import CLibUV
import RumorCore
import RumorSecurity

/// Limits and sizes for a framed TCP connection.
public struct ConnectionLimits: Sendable {
    /// The largest frame body accepted or sent.
    public var maximumFrameSize = WireFormat.defaultMaximumFrameSize
    /// A peer whose unsent frames exceed this is too slow: it is disconnected and counted.
    public var maximumQueuedBytes = 8 << 20
    /// How long a connect may take before it is reported as failed.
    public var connectTimeout: Duration = .seconds(2)
    /// How long a graceful close may wait for queued frames to drain before the link is cut.
    public var closeLinger: Duration = .seconds(2)
    /// How long the cluster-key handshake may take before the link is cut (a peer that connects and stalls).
    public var securityHandshakeTimeout: Duration = .seconds(5)
    /// Inbound links (handshaking or established) beyond this are closed as soon as they are accepted.
    public var maximumInboundLinks = 256

    public init() {}
}

/// What a connection reports to its owner, on the loop thread.
package protocol TCPConnectionDelegate: AnyObject {
    func connection(_ connection: TCPConnection, received message: Message)
    func connection(_ connection: TCPConnection, rejectedFrame error: WireError)
    /// One of our own messages was larger than the link's frame limit and was not sent.
    func connection(_ connection: TCPConnection, couldNotSend type: MessageType, size: Int)
    /// A read batch ended: a good moment to flush what its messages caused.
    func connectionFinishedReadBatch(_ connection: TCPConnection, frames: Int, bytes: Int)
    func connection(_ connection: TCPConnection, flushed frames: Int, bytes: Int)
    /// The write queue fell below half its limit after being above it, or emptied.
    func connectionDrained(_ connection: TCPConnection)
    func connection(_ connection: TCPConnection, closed reason: String, overflowed: Bool)
    /// Both sides proved the cluster key: from now on frames are sealed.
    func connectionSecured(_ connection: TCPConnection)
    /// The handshake or a sealed frame failed; the connection closes right after.
    func connection(_ connection: TCPConnection, securityFailed failure: LinkSecurityFailure)
}

extension TCPConnectionDelegate {
    // Owners that never set a cluster key (the transport benchmark) need not hear of one.
    package func connectionSecured(_ connection: TCPConnection) {}
    package func connection(_ connection: TCPConnection, securityFailed failure: LinkSecurityFailure) {}
}

/// A TCP stream carrying length-prefixed frames. Reads go into a reused buffer and are decoded in place;
/// writes are encoded straight into a per-connection buffer and go out as one `uv_write` per flush, with
/// a second buffer filling while the first is on the wire.
package final class TCPConnection: LoopHandle {
    package let id: LinkID
    let limits: ConnectionLimits
    package weak var delegate: TCPConnectionDelegate?
    private(set) var remoteDescription = "?"

    private var receive: ReceiveBuffer
    private var pending = OutboundBuffer()
    private var inFlight = OutboundBuffer()
    private var pendingFrames = 0
    private let writeRequest = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
    private let shutdownRequest = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
    private var writing = false
    private var closeWhenFlushed = false
    /// A leave: after our side is shut down the link stays open until the peer closes its side.
    private var awaitsPeerClose = false
    /// The peer closed its side (end of stream) while this connection waited for it in a leave.
    package private(set) var closedByPeer = false
    private var shuttingDown = false
    private var closeReason: String?
    private var overflowed = false
    private var lingerTimer: LoopTimer?
    /// Set while the connection waits in its owner's list of links to flush.
    var isQueuedForFlush = false
    /// The version in the header of frames this link sends: the highest offered until the core settles the
    /// link's version (`NodeEffect.setWireVersion`).
    var wireVersion = WireFormat.versions.upperBound
    /// The versions whose frames this link reads (the set-up frames of any version are read regardless).
    var acceptedWireVersions = WireFormat.versions
    /// The peer's listening address: dialled (outbound) or announced in its handshake (inbound).
    var peerAddress: PeerAddress?
    /// Whether this side dialled.
    var isOutbound = false
    /// Plain frames, or the cluster-key handshake and then sealed frames.
    private(set) var security = LinkSecurity.open
    private var handshakeTimer: LoopTimer?

    package init(eventLoop: EventLoop, id: LinkID, limits: ConnectionLimits) {
        self.id = id
        self.limits = limits
        receive = ReceiveBuffer(capacity: 256 << 10, minimumReadSize: 64 << 10)
        super.init(eventLoop: eventLoop, allocating: uv_tcp_t.self)
        uv_tcp_init(eventLoop.loop, tcp)
        retainThroughHandle()
    }

    var tcp: UnsafeMutablePointer<uv_tcp_t> { rawHandle.assumingMemoryBound(to: uv_tcp_t.self) }
    private var stream: UnsafeMutablePointer<uv_stream_t> { rawHandle.assumingMemoryBound(to: uv_stream_t.self) }

    package var queuedBytes: Int { pending.count + inFlight.count }

    /// Starts reading once the socket is connected or accepted.
    package func startReading() {
        uv_tcp_nodelay(tcp, 1)
        var peer = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let described = withUnsafeMutablePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getpeername(tcp, $0, &length) }
        }
        if described == 0, let (host, port) = SocketAddress.describe(peer) {
            remoteDescription = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
        let result = uv_read_start(stream, { handle, _, buffer in
            guard let connection = LoopHandle.owner(of: handle.map(UnsafeMutableRawPointer.init), as: TCPConnection.self),
                  let buffer else { return }
            let space = connection.receive.spaceForRead(pendingFrameSize: connection.pendingFrameSize())
            buffer.pointee = uv_buf_init(space.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(min(space.count, Int(UInt32.max))))
        }, { stream, count, _ in
            LoopHandle.owner(of: stream.map(UnsafeMutableRawPointer.init), as: TCPConnection.self)?.didRead(count)
        })
        if result < 0 { abort(reason: "read start failed: \(describeUVError(result))") }
    }

    /// Stops taking bytes from the peer (its frames wait in the kernel) until `startReading` again.
    func pauseReading() {
        guard !isClosing else { return }
        uv_read_stop(stream)
    }

    /// The size of the frame at the front of the buffer, if its prefix is in and within the limit.
    private func pendingFrameSize() -> Int {
        let bytes = receive.unconsumed
        guard bytes.count >= WireFormat.lengthPrefixSize else { return 0 }
        let length = WireFormat.bodyLength(prefix: bytes)
        return length <= receiveLimit ? WireFormat.lengthPrefixSize + length : 0
    }

    private var receiveLimit: Int { security.receiveLimit(frameLimit: limits.maximumFrameSize) }

    private func didRead(_ count: Int) {
        guard !isClosing else { return }
        if count < 0 {
            if awaitsPeerClose {
                closedByPeer = count == Int(UV_EOF.rawValue)
                abort(reason: closeReason ?? "closed")
                return
            }
            let reason = count == Int(UV_EOF.rawValue) ? "closed by peer" : "read failed: \(describeUVError(Int32(count)))"
            // Only the peer's side counts as a failed handshake; our own shutdown does not.
            if security.isHandshaking { failSecurity(.closedDuringHandshake(reason)) } else { abort(reason: reason) }
            return
        }
        guard count > 0 else { return }
        // Leaving: what the peer still sends is of no use; only its end of stream is awaited.
        receive.didRead(count)
        guard !awaitsPeerClose else { return receive.consume(receive.unconsumed.count) }
        var frames = 0
        var bytes = 0
        // One strong load of the weak delegate per read, not one per frame.
        let delegate = self.delegate
        defer { if !isClosing { delegate?.connectionFinishedReadBatch(self, frames: frames, bytes: bytes) } }
        while !isClosing {
            let available = receive.unconsumed
            guard available.count >= WireFormat.lengthPrefixSize else { break }
            let length = WireFormat.bodyLength(prefix: available)
            guard length <= receiveLimit else {
                if security.isHandshaking {
                    failSecurity(.handshake(.malformedMessage("a frame of \(length) bytes where a handshake message was due")))
                } else {
                    reject(.frameTooLarge(length: length, limit: receiveLimit))
                }
                return
            }
            let frameSize = WireFormat.lengthPrefixSize + length
            guard available.count >= frameSize else { break }
            let body = UnsafeRawBufferPointer(rebasing: available[WireFormat.lengthPrefixSize..<frameSize])
            guard let message = readFrame(body) else { return }
            receive.consume(frameSize)
            frames += 1
            bytes += frameSize
            if let message { delegate?.connection(self, received: message) }
        }
    }

    /// What one frame body holds: `.some(nil)` for a handshake step (nothing for the core), nil when the
    /// frame closed the link.
    private func readFrame(_ body: UnsafeRawBufferPointer) -> Message?? {
        switch security {
        case .open:
            do throws(WireError) {
                return .some(try MessageCodec.decodeBody(body, accepting: acceptedWireVersions))
            } catch {
                if let first = body.first, HandshakeFormat.isHandshakeMessage(firstByte: first) {
                    reject(.invalidValue(field: "frame", detail: "the peer uses a cluster key; this node runs without one"))
                } else {
                    reject(error)
                }
                return nil
            }
        case .initiating, .responding:
            return takeHandshakeMessage(body) ? .some(nil) : nil
        case .sealed(var channel):
            let plaintext: [UInt8]
            do throws(SealError) {
                plaintext = try channel.open(body)
            } catch {
                failSecurity(.sealedFrame(error))
                return nil
            }
            security = .sealed(channel)
            let decoded: Result<Message, WireError> = plaintext.withUnsafeBytes { bytes in
                do throws(WireError) { return .success(try MessageCodec.decodeBody(bytes, accepting: acceptedWireVersions)) } catch { return .failure(error) }
            }
            switch decoded {
            case .success(let message): return .some(message)
            case .failure(let error):
                reject(error)
                return nil
            }
        case .failed:
            return nil
        }
    }

    // MARK: Cluster key

    /// Starts the cluster-key handshake: the initiator (the side that dialled) speaks first. Nothing of the
    /// protocol goes either way until `connectionSecured`.
    func beginHandshake(keyring: Keyring, initiating: Bool) {
        guard !isClosing, case .open = security else { return }
        if initiating {
            let initiator = HandshakeInitiator(keyring: keyring)
            security = .initiating(initiator)
            queueRawFrame(initiator.hello)
            flush()
        } else {
            security = .responding(HandshakeResponder(keyring: keyring))
        }
        let timeout = limits.securityHandshakeTimeout
        let timer = LoopTimer(eventLoop: eventLoop) { [weak self] in
            guard let self, self.security.isHandshaking else { return }
            self.failSecurity(.handshakeTimedOut(timeout))
        }
        timer.schedule(after: timeout)
        handshakeTimer = timer
    }

    /// Feeds one handshake message to the machine; false when the link is closing.
    private func takeHandshakeMessage(_ body: UnsafeRawBufferPointer) -> Bool {
        let step: HandshakeStep
        do throws(HandshakeError) {
            switch security {
            case .initiating(var initiator):
                step = try initiator.receive(body)
                security = .initiating(initiator)
            case .responding(var responder):
                step = try responder.receive(body)
                security = .responding(responder)
            case .open, .sealed, .failed:
                return false
            }
        } catch {
            failSecurity(.handshake(error))
            return false
        }
        if let reply = step.messageToSend { queueRawFrame(reply) }
        if let channel = step.channel {
            security = .sealed(channel)
            handshakeTimer?.close()
            handshakeTimer = nil
            delegate?.connectionSecured(self)
        }
        flush()
        return !isClosing
    }

    /// The cluster key this link proved, once sealed (for logs during a rotation).
    var sealedKeyID: ClusterKey.ID? {
        if case .sealed(let channel) = security { channel.keyID } else { nil }
    }

    private func failSecurity(_ failure: LinkSecurityFailure) {
        guard !isClosing else { return }
        security = .failed
        delegate?.connection(self, securityFailed: failure)
        abort(reason: failure.description)
    }

    /// Queues a frame body as it is (handshake messages, and sealed bodies).
    private func queueRawFrame(_ body: [UInt8]) {
        let space = pending.reserve(WireFormat.lengthPrefixSize + body.count)
        writeLengthPrefix(body.count, into: space)
        body.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: space[WireFormat.lengthPrefixSize...]).copyMemory(from: $0) }
        pending.commit(WireFormat.lengthPrefixSize + body.count)
        pendingFrames += 1
    }

    private func writeLengthPrefix(_ length: Int, into space: UnsafeMutableRawBufferPointer) {
        for index in 0..<WireFormat.lengthPrefixSize {
            space[index] = UInt8(truncatingIfNeeded: length >> (8 * (WireFormat.lengthPrefixSize - 1 - index)))
        }
    }

    private func reject(_ error: WireError) {
        delegate?.connection(self, rejectedFrame: error)
        abort(reason: "bad frame: \(error)")
    }

    // MARK: Writing

    /// What sealing adds to each frame on this link: its wire cost beyond the encoded frame.
    package var sealOverhead: Int {
        if case .sealed = security { SealedChannel.overhead } else { 0 }
    }

    /// Queues `message`; it goes out at the next `flush`. Returns false when the link is closing or the
    /// peer's queue is over its limit, in which case the link is being closed.
    @discardableResult
    package func send(_ message: Message) -> Bool {
        guard !isClosing, !closeWhenFlushed else { return false }
        let bodySize = MessageCodec.bodySize(of: message)
        let size = WireFormat.lengthPrefixSize + bodySize
        guard bodySize <= limits.maximumFrameSize else {
            // Our own message too large for the link: the core should have cut it to fit. It is dropped
            // and reported as ours, not blamed on the peer.
            delegate?.connection(self, couldNotSend: message.type, size: bodySize)
            return false
        }
        guard queuedBytes + size + sealOverhead <= limits.maximumQueuedBytes else {
            overflowed = true
            abort(reason: "write queue over its limit of \(limits.maximumQueuedBytes) bytes: peer too slow")
            return false
        }
        switch security {
        case .open:
            let space = pending.reserve(size)
            pending.commit(MessageCodec.encodeFrame(message, version: wireVersion, bodySize: bodySize, into: space))
            pendingFrames += 1
            return true
        case .sealed(var channel):
            // Encoded where the frame will go (not committed), sealed into a new array, which then overwrites
            // the same space (reserved large enough for prefix, ciphertext and tag, so it is not moved).
            let space = pending.reserve(size + SealedChannel.overhead)
            let written = MessageCodec.encodeFrame(message, version: wireVersion, bodySize: bodySize, into: space)
            let sealed: [UInt8]
            do throws(SealError) {
                sealed = try channel.seal(UnsafeRawBufferPointer(rebasing: space[WireFormat.lengthPrefixSize..<written]))
            } catch {
                failSecurity(.sealedFrame(error))
                return false
            }
            security = .sealed(channel)
            queueRawFrame(sealed)
            return true
        case .initiating, .responding, .failed:
            // The core hears of a keyed link only once it is sealed; nothing can be sent before.
            return false
        }
    }

    /// Hands everything queued to libuv in one write, unless a write is already under way (then it goes
    /// when that one completes).
    package func flush() {
        guard !isClosing, !writing, !pending.isEmpty else { return }
        swap(&pending, &inFlight)
        let frames = pendingFrames
        let bytes = inFlight.count
        pendingFrames = 0
        var buffer = uv_buf_init(inFlight.base!.assumingMemoryBound(to: CChar.self), UInt32(inFlight.count))
        writeRequest.pointee.data = handle.pointee.data
        let result = uv_write(writeRequest, stream, &buffer, 1) { request, status in
            guard let request, let data = request.pointee.data else { return }
            let connection = Unmanaged<LoopHandle>.fromOpaque(data).takeUnretainedValue() as! TCPConnection
            connection.didWrite(status: status)
        }
        if result < 0 {
            abort(reason: "write failed: \(describeUVError(result))")
            return
        }
        writing = true
        delegate?.connection(self, flushed: frames, bytes: bytes)
    }

    private func didWrite(status: Int32) {
        writing = false
        let wasAboveHalf = inFlight.count + pending.count > limits.maximumQueuedBytes / 2
        inFlight.reset(keepingAtMost: 4 << 20)
        guard !isClosing else { return }
        if status < 0 {
            abort(reason: "write failed: \(describeUVError(status))")
            return
        }
        if !pending.isEmpty {
            flush()
        } else if closeWhenFlushed {
            beginShutdown()
            return
        }
        if wasAboveHalf || pending.isEmpty { delegate?.connectionDrained(self) }
    }

    // MARK: Closing

    /// Closes after everything queued has been written, or after `closeLinger` if the peer will not read.
    package func closeGracefully(reason: String) {
        guard !isClosing, !closeWhenFlushed else { return }
        closeReason = reason
        closeWhenFlushed = true
        uv_read_stop(stream)
        if writing || !pending.isEmpty {
            flush()
            abortAfterLinger(reason: reason)
        } else {
            beginShutdown()
        }
    }

    /// Leaves the link: everything queued (the DISCONNECT last) is written, our side is shut down, and the
    /// link closes when the peer closes its side, which `closedByPeer` then tells. The owner cuts links
    /// whose peers do not answer within its leave timeout (`abort`).
    package func closeAfterPeer(reason: String) {
        guard !isClosing, !closeWhenFlushed else { return }
        closeReason = reason
        closeWhenFlushed = true
        awaitsPeerClose = true
        if !writing, pending.isEmpty { beginShutdown() } else { flush() }
    }

    /// Closes on purpose while this node lives on: everything queued is written, our side is shut down, and
    /// what the peer still sends is read and dropped until it closes its side, or for `closeLinger` at most.
    /// Closed outright, the socket would answer the peer's next write with a reset, which can discard our
    /// last frames (a DISCONNECT) unread at the peer and make the close look like this node's crash.
    package func closeLingering(reason: String) {
        guard !isClosing, !closeWhenFlushed else { return }
        closeAfterPeer(reason: reason)
        abortAfterLinger(reason: reason)
    }

    /// A close that has not finished within `closeLinger` is cut.
    private func abortAfterLinger(reason: String) {
        let timer = LoopTimer(eventLoop: eventLoop) { [weak self] in
            self?.abort(reason: reason)
        }
        timer.schedule(after: limits.closeLinger)
        lingerTimer = timer
    }

    private func beginShutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        shutdownRequest.pointee.data = handle.pointee.data
        let result = uv_shutdown(shutdownRequest, stream) { request, _ in
            guard let request, let data = request.pointee.data else { return }
            let connection = Unmanaged<LoopHandle>.fromOpaque(data).takeUnretainedValue() as! TCPConnection
            if !connection.awaitsPeerClose { connection.abort(reason: connection.closeReason ?? "closed") }
        }
        if result < 0 { abort(reason: closeReason ?? "closed") }
    }

    /// Closes now, dropping anything unsent.
    package func abort(reason: String) {
        guard !isClosing else { return }
        if closeReason == nil { closeReason = reason }
        close()
    }

    override func willClose() {
        lingerTimer?.close()
        lingerTimer = nil
        handshakeTimer?.close()
        handshakeTimer = nil

        uv_read_stop(stream)
        delegate?.connection(self, closed: closeReason ?? "closed", overflowed: overflowed)
    }

    override func didClose() {
        // libuv has cancelled any write or shutdown under way before calling this.
        receive.release()
        pending.release()
        inFlight.release()
        writeRequest.deallocate()
        shutdownRequest.deallocate()
        delegate = nil
    }
}
