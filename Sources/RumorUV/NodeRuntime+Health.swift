import Logging
import RumorCore

/// The loop's heartbeat: every quarter second it proves the loop alive to the health thread, updates
/// readiness, and once a second refreshes the gauges and checks whether the node has been alone too long.
extension NodeRuntime {
    static let heartbeatInterval: Duration = .milliseconds(250)

    func startHeartbeat() {
        let timer = LoopTimer(eventLoop: eventLoop) { [weak self] in self?.heartbeat() }
        heartbeatTimer = timer
        heartbeat()
    }

    func stopHeartbeat() {
        heartbeatTimer?.close()
        heartbeatTimer = nil
        healthServer?.shutdown()
        healthServer = nil
    }

    private func heartbeat() {
        health.beat()
        heartbeatTimer?.schedule(after: Self.heartbeatInterval)
        guard let activePeers = activePeerCount else { return }
        health.setReadiness(Readiness.evaluate(activePeers: activePeers, seeds: seedReports, leaving: leaving, now: now))
        heartbeats += 1
        guard heartbeats % 4 == 0 else { return }
        if let status = statusOnLoop() { metrics.recordCoreLimits(status.node.counters) }
        switch isolation.observe(activePeers: activePeers, seeds: seedReports, now: now) {
        case .isolated(let duration, let story):
            var metadata: Logger.Metadata = ["alone_s": "\(duration.millisecondsRounded / 1000)"]
            for (index, line) in story.enumerated() { metadata["seed_\(index + 1)"] = "\(line)" }
            logger.warning("no active peer: every seed attempt has failed so far; still retrying", metadata: metadata)
        case .rejoined(let duration):
            logger.notice("joined the overlay after being alone", metadata: [
                "alone_s": "\(duration.millisecondsRounded / 1000)", "active": "\(activePeers)",
            ])
        case nil:
            break
        }
    }
}
