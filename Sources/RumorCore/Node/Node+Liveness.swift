/// Watching established links (docs/protocol.md L8, L9, L15, L17, L18): the one maintenance tick that
/// closes dead and superseded links, PINGs quiet ones, and judges silence against each link's own rhythm
/// and this node's own lag.
extension Node {
    mutating func maintainLinks() {
        maintenanceArmed = false
        // A tick that comes late says this node was not running: its peers' silence may be its own (L18).
        let lateness = maintenanceDueAt.map { now.since($0) } ?? .zero
        let lagging = localHealth.tick(at: now, lateness: lateness, tolerance: configuration.probeInterval)
        if lagging {
            counters.lateMaintenanceTicks += 1
            // The stall is not the peers' silence: it counts from now, when they can be heard again.
            resumedAt = now
        }
        for link in links.keys.sorted() {
            guard let state = links[link] else { continue }
            if let since = supersededLinks[link] {
                if now.since(since) >= configuration.keepAliveInterval {
                    closeLink(link, reason: "duplicate link to \(state.peer.map { "\($0.id)" } ?? "a peer")", failed: false)
                }
                continue
            }
            guard let peer = state.peer else {
                if now.since(state.openedAt) > configuration.handshakeTimeout {
                    logger.warning("handshake timed out", metadata: ["link": "\(link)"])
                    closeLink(link, reason: "no handshake within \(configuration.handshakeTimeout)", failed: true)
                }
                continue
            }
            let threshold = silenceThreshold(of: state)
            if !lagging, now.since(max(state.lastHeard, resumedAt ?? .zero)) > threshold {
                counters.silentLinksClosed += 1
                logger.warning("peer silent, closing link", metadata: ["peer": "\(peer)", "threshold": "\(DurationText.format(threshold))"])
                // A peer that is only slow reads the DISCONNECT before the close and drops the link as a departure.
                closeSayingDisconnect(link, reason: "silent for more than \(DurationText.format(threshold))", failed: true, evidence: .silent)
            } else if isTemporary(peer.id), now.since(state.establishedAt) > membership.temporaryLinkTimeout {
                closeSayingDisconnect(link, reason: "temporary link no longer needed")
            } else {
                keepAlive(link, state: state)
            }
        }
        expireOutstandingRequests()
        probeLostPeers(includingSeeds: false)
        if !links.isEmpty || lost.entries.contains(where: { $0.lostToFailure || $0.bridges > 0 }) { armMaintenance() }
    }

    /// The maintenance tick's word on an established link. A link of version 4 or later gets a PING once
    /// nothing has been heard on it for a probe interval (L17), and at least every keepalive interval, busy
    /// or not, so that its round-trip time stays measured (L15), unless the peer's own PINGs keep coming
    /// (the peer watches and measures the link already; one prober a link halves the idle probes); never
    /// two within a probe interval. An older one gets a KEEPALIVE only when nothing else went out for a
    /// keepalive interval.
    mutating func keepAlive(_ link: LinkID, state: LinkState) {
        if state.wireVersion >= MessageType.ping.introducedIn {
            let sincePing = state.probe.lastPingAt.map { now.since($0) }
            let quiet = now.since(state.lastHeard) >= configuration.probeInterval
            let peerProbes = state.probe.peerPingedAt.map { now.since($0) < configuration.keepAliveInterval } ?? false
            let due = !peerProbes && (sincePing.map { $0 >= configuration.keepAliveInterval } ?? true)
            let justPinged = sincePing.map { $0 < configuration.probeInterval } ?? false
            guard quiet || due, !justPinged else { return }
            let token = now.nanoseconds
            let sentAt = now
            links.update(link) {
                $0.probe.outstandingToken = token
                $0.probe.lastPingAt = sentAt
            }
            send(.ping(RoundTripProbe(token: token)), on: link)
        } else if now.since(state.lastSent) >= configuration.keepAliveInterval {
            send(.keepAlive, on: link)
        }
    }

    /// The silence after which an established link is dead: for version 4 its peer's usual gaps (L17),
    /// for version 3 the fixed silence timeout; either widened while this node's own loop lags (L18).
    func silenceThreshold(of state: LinkState) -> Duration {
        let base: Duration
        if state.wireVersion >= MessageType.ping.introducedIn, let gaps = state.gaps {
            base = gaps.threshold(minimum: configuration.minimumSilence, maximum: configuration.silenceTimeout)
        } else {
            base = configuration.silenceTimeout
        }
        return base * localHealth.multiplier
    }

    /// A PONG for the latest PING gives a sample; one for an older PING, or for none, is ignored (a PING
    /// replaced by the next one before its answer came).
    mutating func receivedPong(_ probe: RoundTripProbe, on link: LinkID) {
        guard let state = links[link], state.probe.outstandingToken == probe.token, let sentAt = state.probe.lastPingAt else { return }
        let sample = now.since(sentAt)
        links.update(link) { $0.probe.record(sample) }
    }
}

/// What a link's round-trip probes have measured.
struct RoundTripState {
    /// The token of the PING not yet answered, if any.
    var outstandingToken: UInt64?
    /// When the peer's latest PING came: while they keep coming, this end sends no keepalive PING (L15).
    var peerPingedAt: Timestamp?
    var lastPingAt: Timestamp?
    /// Smoothed as TCP does (RFC 6298: each sample weighs 1/8), so one slow answer does not swing it.
    var smoothed: Duration?
    var latest: Duration?
    var samples = 0

    mutating func record(_ sample: Duration) {
        outstandingToken = nil
        latest = sample
        samples += 1
        smoothed = smoothed.map { $0 * 7 / 8 + sample / 8 } ?? sample
    }
}
