import CLibUV
import Logging
import RumorCore
import RumorSecurity

/// Opening links, the cluster-key handshake in front of them, and what each connection reports.
extension NodeRuntime {
    private func makeConnection() -> TCPConnection {
        let connection = TCPConnection(eventLoop: eventLoop, id: LinkID(nextLink), limits: configuration.limits)
        let offered = configuration.node.wireVersions.clamped(to: WireFormat.versions)
        connection.wireVersion = offered.upperBound
        connection.acceptedWireVersions = offered
        nextLink += 1
        return connection
    }

    func acceptInbound(from listener: TCPListener) {
        let connection = makeConnection()
        guard listener.acceptInto(connection) else {
            connection.close()
            return
        }
        guard !stopped else {
            connection.abort(reason: "node stopped")
            return
        }
        let inbound = connections.values.count { !$0.isOutbound } + securing.values.count { !$0.connection.isOutbound }
        guard inbound < configuration.limits.maximumInboundLinks else {
            // The newcomer pays, not the links we have.
            metrics.limitReached("inbound_links")
            connection.abort(reason: "inbound link limit of \(configuration.limits.maximumInboundLinks) reached")
            return
        }
        open(connection, .inbound(remote: connection.remoteDescription))
    }

    /// Carries out the core's `.connect`: an address literal is dialled, a seed's name looked up first.
    func connect(to address: PeerAddress) {
        guard address.isLiteral else { return dialByName(address) }
        startConnect(to: address) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let connection):
                if self.seedReports.contains(address) { self.seedReports.recordOutcome(of: address, "connected", at: self.now) }
                self.linkOpened(connection, dialled: address, reached: address)
            case .failure(let error):
                if self.seedReports.contains(address) { self.seedReports.recordOutcome(of: address, "connect failed: \(error)", at: self.now) }
                self.feed(.connectFailed(address, reason: error.description, refused: error.refused))
            }
        }
    }

    /// One TCP connect to an address literal; a failure is counted here, and a connection that completes
    /// after the node stopped is cut.
    func startConnect(to address: PeerAddress, completion: @escaping (Result<TCPConnection, TCPConnector.ConnectError>) -> Void) {
        let connection = makeConnection()
        connection.isOutbound = true
        _ = TCPConnector(handle: connection, address: address, timeout: configuration.limits.connectTimeout) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success:
                guard !self.stopped else {
                    connection.abort(reason: "node stopped")
                    return
                }
                completion(.success(connection))
            case .failure(let error):
                self.metrics.connectFailures.increment()
                completion(.failure(error))
            }
        }
    }

    /// An outbound link is up at `reached`, for the core's dial of `dialled` (the same address, or the
    /// seed name it was looked up from).
    func linkOpened(_ connection: TCPConnection, dialled: PeerAddress, reached: PeerAddress) {
        connection.peerAddress = reached
        if seedReports.contains(dialled) { seedLinks[connection.id] = dialled }
        open(connection, .outbound(dialled))
    }

    /// A connected socket: the core hears of it now, or, with a cluster key, once the handshake has sealed it.
    private func open(_ connection: TCPConnection, _ direction: LinkDirection) {
        connection.delegate = self
        metrics.linksOpened.increment()
        connection.startReading()
        guard let keyring = configuration.keyring else {
            announce(connection, direction)
            return
        }
        securing[connection.id] = (connection, direction)
        connection.beginHandshake(keyring: keyring, initiating: connection.isOutbound)
    }

    private func announce(_ connection: TCPConnection, _ direction: LinkDirection) {
        connections[connection.id] = connection
        feed(.linkOpened(connection.id, direction))
    }
}

extension NodeRuntime: TCPConnectionDelegate {
    package func connection(_ connection: TCPConnection, received message: Message) {
        if case .handshake(let handshake) = message {
            if connection.peerAddress == nil { connection.peerAddress = handshake.sender.address }
            recordSeedHandshake(on: connection.id, from: handshake.sender)
        }
        guard !linkShaping.isIdle else {
            feed(.received(connection.id, message), flushing: false)
            return
        }
        switch linkShaping.admit(message, on: connection.id, from: connection.peerAddress, now: EventLoop.monotonicNanoseconds()) {
        case .deliverNow: feed(.received(connection.id, message), flushing: false)
        case .dropped: metrics.shapedDrops.increment()
        case .held: armShapingTimer()
        }
    }

    package func connection(_ connection: TCPConnection, rejectedFrame error: WireError) {
        metrics.decodeErrors.increment()
        if case .frameTooLarge = error { metrics.limitReached("frame_size") }
        logger.warning("bad frame from peer", metadata: ["link": "\(connection.id)", "remote": "\(connection.remoteDescription)", "error": "\(error)"])
        // A link the core does not know yet (still in its handshake) just closes.
        if connections[connection.id] != nil { feed(.malformedFrame(connection.id, error)) }
    }

    package func connection(_ connection: TCPConnection, couldNotSend type: MessageType, size: Int) {
        logger.error("a message of ours exceeds the frame limit and was not sent", metadata: [
            "type": "\(type)", "size": "\(size)", "limit": "\(configuration.limits.maximumFrameSize)", "link": "\(connection.id)",
        ])
    }

    package func connectionFinishedReadBatch(_ connection: TCPConnection, frames: Int, bytes: Int) {
        metrics.framesIn.increment(by: Int64(frames))
        metrics.bytesIn.increment(by: Int64(bytes))
        flushQueued()
    }

    package func connection(_ connection: TCPConnection, flushed frames: Int, bytes: Int) {
        metrics.framesOut.increment(by: Int64(frames))
        metrics.bytesOut.increment(by: Int64(bytes))
    }

    package func connectionDrained(_ connection: TCPConnection) {}

    package func connection(_ connection: TCPConnection, closed reason: String, overflowed: Bool) {
        metrics.linksClosed.increment()
        if overflowed {
            metrics.queueDrops.increment()
            metrics.limitReached("write_queue")
        }
        recordSeedLinkClosed(connection.id, reason: reason)
        if leavingLinkClosed(connection) { return }
        if let (_, direction) = securing.removeValue(forKey: connection.id) {
            // The core asked for this link and must hear that it never came; an inbound one it never knew.
            if case .outbound(let address) = direction { feed(.connectFailed(address, reason: reason)) }
            return
        }
        if connections.removeValue(forKey: connection.id) != nil {
            if linkShaping.holdClosing(of: connection.id, reason: reason) { return }
            feed(.linkClosed(connection.id, reason: reason))
        }
    }

    package func connectionSecured(_ connection: TCPConnection) {
        guard let (_, direction) = securing.removeValue(forKey: connection.id) else { return }
        metrics.securedLinks.increment()
        // Which key each link proved: during a rotation, the peers still on the old key show here.
        logger.debug("link sealed", metadata: ["link": "\(connection.id)", "remote": "\(connection.remoteDescription)",
                                               "key": "\(connection.sealedKeyID.map { "\($0)" } ?? "?")"])
        announce(connection, direction)
        flushQueued()
    }

    package func connection(_ connection: TCPConnection, securityFailed failure: LinkSecurityFailure) {
        metrics.securityFailures(failure.metricReason).increment()
        if case .handshakeTimedOut = failure { metrics.limitReached("handshake_time") }
        let summary = if case .sealedFrame = failure { "sealed frame refused, closing the link" } else { "link refused: cluster key not proved" }
        logger.warning("\(summary)", metadata: [
            "link": "\(connection.id)", "remote": "\(connection.remoteDescription)", "reason": "\(failure)",
        ])
    }
}
