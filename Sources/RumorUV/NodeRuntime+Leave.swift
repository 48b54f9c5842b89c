/// The one way a node leaves: the signal handler of `rumor-node`, the library's `leave()` and (later) the
/// directory's `left` announcement all come here. The node stops accepting, `/readyz` turns 503, the core
/// sends DISCONNECT to every active peer and closes every link; each link writes what is queued, shuts
/// down its side and waits for the peer to close its own, which is the peer's confirmation. Links whose
/// peers do not answer within the timeout are cut.
extension NodeRuntime {
    public struct LeaveOutcome: Sendable, Equatable {
        /// Links open when the leave began (active peers, and any temporary or handshaking link).
        public var links: Int
        /// Links whose peer closed its side in time.
        public var confirmed: Int
        /// Whether the timeout cut links that were still waiting.
        public var timedOut: Bool
    }

    /// Leaves and returns once every link closed or `timeout` passed. A second call (or one after the
    /// node stopped) returns at once with nothing to confirm. Watched on the loop with a timer, so a
    /// cancelled caller still waits: a cancelled service must still leave.
    public func leave(timeout: Duration) async -> LeaveOutcome {
        await withCheckedContinuation { continuation in
            eventLoop.execute {
                guard !self.stopped, !self.leaving else {
                    return continuation.resume(returning: LeaveOutcome(links: 0, confirmed: 0, timedOut: false))
                }
                let links = self.beginLeave()
                self.watch(until: { self.leavingLinks.isEmpty && self.securing.isEmpty }, timeout: timeout) { done in
                    let outcome = LeaveOutcome(links: links, confirmed: self.leaveConfirmations, timedOut: !done)
                    self.cutLeavingLinks()
                    continuation.resume(returning: outcome)
                }
            }
        }
    }

    /// Stops accepting, reports not ready, and hands the core its stop; returns how many links were open.
    private func beginLeave() -> Int {
        leaving = true
        health.setReadiness(.notReady(reason: "leaving the overlay"))
        let links = connections.count + securing.count
        feed(.stop)
        stopped = true
        closeEverything(graceful: true)
        return links
    }

    private func cutLeavingLinks() {
        for connection in leavingLinks.values { connection.abort(reason: "leave timeout: the peer did not close its side") }
        leavingLinks.removeAll()
    }

    /// A link closed while the node was leaving: confirmed if the peer closed its side first.
    func leavingLinkClosed(_ connection: TCPConnection) -> Bool {
        guard leavingLinks.removeValue(forKey: connection.id) != nil else { return false }
        if connection.closedByPeer { leaveConfirmations += 1 }
        return true
    }

    /// Returns once no link is open or closing, or after `timeout`; whether every link closed.
    public func linksClosed(within timeout: Duration) async -> Bool {
        await withCheckedContinuation { continuation in
            eventLoop.execute {
                self.watch(until: { !self.linksOpen }, timeout: timeout) { continuation.resume(returning: $0) }
            }
        }
    }

    private var linksOpen: Bool { !connections.isEmpty || !securing.isEmpty || !leavingLinks.isEmpty }

    /// Checks `done` on the loop every 5 ms until it holds or `timeout` passes, then calls `finish` with
    /// whether it held (loop thread only).
    private func watch(until done: @escaping () -> Bool, timeout: Duration, then finish: @escaping (Bool) -> Void) {
        let deadline = EventLoop.monotonicNanoseconds() &+ UInt64(max(0, timeout.nanosecondsRounded))
        guard !done() else { return finish(true) }
        var timer: LoopTimer?
        timer = LoopTimer(eventLoop: eventLoop) {
            let held = done()
            guard held || EventLoop.monotonicNanoseconds() >= deadline else {
                timer?.schedule(after: .milliseconds(5))
                return
            }
            timer?.close()
            timer = nil
            finish(held)
        }
        timer?.schedule(after: .milliseconds(5))
    }
}
