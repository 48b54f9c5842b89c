import CoreMetrics
import RumorCore
import Prometheus

/// A node's counters and gauges, in a registry of its own so that several nodes in one process (tests, the
/// simulator) keep separate figures. `/metrics` renders the registry in Prometheus text format.
final class NodeMetrics {
    let registry = PrometheusCollectorRegistry()
    let framesIn: CoreMetrics.Counter
    let framesOut: CoreMetrics.Counter
    let bytesIn: CoreMetrics.Counter
    let bytesOut: CoreMetrics.Counter
    let linksOpened: CoreMetrics.Counter
    let linksClosed: CoreMetrics.Counter
    let connectFailures: CoreMetrics.Counter
    let decodeErrors: CoreMetrics.Counter
    let queueDrops: CoreMetrics.Counter
    /// Frames dropped on purpose by the link conditions of a test mesh (`LinkShaping`).
    let shapedDrops: CoreMetrics.Counter
    /// Links that completed the cluster-key handshake.
    let securedLinks: CoreMetrics.Counter
    private let factory: PrometheusMetricsFactory
    let activePeers: CoreMetrics.Gauge
    let pendingLinks: CoreMetrics.Gauge
    /// Frames and bytes (as on the wire, sealing included) queued per channel: which part of the protocol
    /// the traffic is, `rumor_channel_bytes_out_total{channel="directory"}`. Five series, made once.
    private let channelFramesOut: [MessageChannel: CoreMetrics.Counter]
    private let channelBytesOut: [MessageChannel: CoreMetrics.Counter]

    init() {
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        securedLinks = Counter(label: "rumor_secured_links_total", factory: factory)
        framesIn = Counter(label: "rumor_frames_in_total", factory: factory)
        framesOut = Counter(label: "rumor_frames_out_total", factory: factory)
        bytesIn = Counter(label: "rumor_bytes_in_total", factory: factory)
        bytesOut = Counter(label: "rumor_bytes_out_total", factory: factory)
        linksOpened = Counter(label: "rumor_links_opened_total", factory: factory)
        linksClosed = Counter(label: "rumor_links_closed_total", factory: factory)
        connectFailures = Counter(label: "rumor_connect_failures_total", factory: factory)
        decodeErrors = Counter(label: "rumor_decode_errors_total", factory: factory)
        queueDrops = Counter(label: "rumor_write_queue_drops_total", factory: factory)
        shapedDrops = Counter(label: "rumor_link_shaping_dropped_frames_total", factory: factory)
        activePeers = Gauge(label: "rumor_active_peers", factory: factory)
        pendingLinks = Gauge(label: "rumor_pending_links", factory: factory)
        channelFramesOut = Dictionary(uniqueKeysWithValues: MessageChannel.allCases.map { channel in
            (channel, Counter(label: "rumor_channel_frames_out_total", dimensions: [("channel", channel.rawValue)], factory: factory))
        })
        channelBytesOut = Dictionary(uniqueKeysWithValues: MessageChannel.allCases.map { channel in
            (channel, Counter(label: "rumor_channel_bytes_out_total", dimensions: [("channel", channel.rawValue)], factory: factory))
        })
    }

    /// A frame queued on a link, counted on its channel.
    func sent(_ message: Message, wireBytes: Int) {
        let channel = message.channel
        channelFramesOut[channel]?.increment()
        channelBytesOut[channel]?.increment(by: Int64(wireBytes))
    }

    /// Links closed because the cluster key was not proved or a sealed frame did not open, by reason.
    func securityFailures(_ reason: String) -> CoreMetrics.Counter {
        Counter(label: "rumor_security_failures_total", dimensions: [("reason", reason)], factory: factory)
    }

    /// Every limit reached, by limit: `rumor_limit_reached_total{limit="..."}`. Reaching a limit costs the
    /// offender its link or its message; this says how often that happened.
    func limitReached(_ limit: String, by count: Int = 1) {
        Counter(label: "rumor_limit_reached_total", dimensions: [("limit", limit)], factory: factory).increment(by: Int64(count))
    }

    private var reportedCoreLimits: [String: Int] = [:]

    /// Members of the directory by status, `rumor_members{status="..."}`: four series whatever the cluster's
    /// size (no label per member).
    func recordDirectory(_ directory: NodeStatus.Directory) {
        for (status, count) in [("alive", directory.alive), ("suspect", directory.suspect), ("failed", directory.failed), ("left", directory.left)] {
            Gauge(label: "rumor_members", dimensions: [("status", status)], factory: factory).record(count)
        }
    }

    /// The directory's own counters as they stand: entries applied, reports sent, members marked failed,
    /// refutations, and updates refused.
    func recordDirectoryCounters(_ counters: NodeStatus.Counters) {
        let figures = [
            ("rumor_directory_entries_applied", counters.directoryEntriesApplied),
            ("rumor_directory_failure_reports_sent", counters.failureReportsSent),
            ("rumor_directory_members_marked_failed", counters.membersMarkedFailed),
            ("rumor_directory_refutations", counters.directoryRefutations),
            ("rumor_directory_updates_rejected", counters.directoryUpdatesRejected),
        ]
        for (label, count) in figures { Gauge(label: label, factory: factory).record(count) }
    }

    /// Brings the core's limit counts (which only grow within a node's life) into `rumor_limit_reached_total`.
    func recordCoreLimits(_ counters: NodeStatus.Counters) {
        let counts = [
            ("payload_size", counters.oversizedPayloadsDropped), ("ihave_announcements", counters.announcementsIgnored),
            ("shuffle_entries", counters.shuffleEntriesIgnored), ("payload_cache", counters.cacheEvictionsForSpace),
            ("seen_ids", counters.seenEvictionsForSpace), ("idle_time", counters.silentLinksClosed),
            ("directory_entry", counters.directoryUpdatesRejected),
        ]
        for (limit, count) in counts {
            let delta = count - (reportedCoreLimits[limit] ?? 0)
            guard delta > 0 else { continue }
            limitReached(limit, by: delta)
            reportedCoreLimits[limit] = count
        }
    }

    func prometheusText() -> [UInt8] { registry.emitToBuffer() }
}
