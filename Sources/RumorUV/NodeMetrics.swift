import CoreMetrics
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
    /// Accepted connections closed at once because the inbound limit was reached.
    let inboundRefused: CoreMetrics.Counter
    /// Links that completed the cluster-key handshake.
    let securedLinks: CoreMetrics.Counter
    private let factory: PrometheusMetricsFactory
    let activePeers: CoreMetrics.Gauge
    let pendingLinks: CoreMetrics.Gauge

    init() {
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        inboundRefused = Counter(label: "rumor_inbound_refused_total", factory: factory)
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
    }

    /// Links closed because the cluster key was not proved or a sealed frame did not open, by reason.
    func securityFailures(_ reason: String) -> CoreMetrics.Counter {
        Counter(label: "rumor_security_failures_total", dimensions: [("reason", reason)], factory: factory)
    }

    func prometheusText() -> [UInt8] { registry.emitToBuffer() }
}
