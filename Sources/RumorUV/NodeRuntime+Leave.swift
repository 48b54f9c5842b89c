/// Waiting for a leave to reach the wire: after `stop()` every link flushes its queue (DISCONNECT last) and
/// closes, or is cut when `ConnectionLimits.closeLinger` runs out.
extension NodeRuntime {
    /// Returns once no link is open or closing, or after `timeout`; whether every link closed. Watched on
    /// the loop with a timer, so a cancelled caller still waits (a cancelled service must still leave).
    public func linksClosed(within timeout: Duration) async -> Bool {
        let deadline = EventLoop.monotonicNanoseconds() &+ UInt64(max(0, timeout.nanosecondsRounded))
        return await withCheckedContinuation { continuation in
            eventLoop.execute {
                guard !self.linksOpen else { return continuation.resume(returning: true) }
                var watch: LoopTimer?
                watch = LoopTimer(eventLoop: self.eventLoop) {
                    let closed = !self.linksOpen
                    guard closed || EventLoop.monotonicNanoseconds() >= deadline else {
                        watch?.schedule(after: .milliseconds(5))
                        return
                    }
                    watch?.close()
                    watch = nil
                    continuation.resume(returning: closed)
                }
                watch?.schedule(after: .milliseconds(5))
            }
        }
    }

    private var linksOpen: Bool { !connections.isEmpty || !securing.isEmpty }
}
