import Prometheus
import RumorCore
import Synchronization

/// What the health endpoint answers from: the node's loop writes it (a heartbeat every quarter second,
/// readiness with it), the health server's own thread reads it. A loop that hangs stops the heartbeat,
/// which is what `/healthz` must notice, so nothing here waits on that loop.
final class HealthState: Sendable {
    private let heartbeat = Atomic<UInt64>(0)
    private let readiness = Mutex(Readiness.notReady(reason: "starting"))

    /// How old the heartbeat may be for the node to count as alive.
    static let heartbeatLimit: Duration = .seconds(1)

    func beat() { heartbeat.store(EventLoop.monotonicNanoseconds(), ordering: .relaxed) }

    func setReadiness(_ value: Readiness) { readiness.withLock { $0 = value } }

    var currentReadiness: Readiness { readiness.withLock { $0 } }

    /// How long ago the loop last beat (nil before its first beat).
    var heartbeatAge: Duration? {
        let last = heartbeat.load(ordering: .relaxed)
        guard last > 0 else { return nil }
        let now = EventLoop.monotonicNanoseconds()
        return .nanoseconds(Int64(clamping: now > last ? now - last : 0))
    }
}

/// The read-only health endpoint (`--health`): liveness, readiness and metrics on a loop and thread of its
/// own, safe to expose on 0.0.0.0 for orchestrators and scrapers: nothing here changes the node.
final class HealthServer {
    private let eventLoop: EventLoop
    private var server: AdminServer?
    var boundAddress: PeerAddress? { server?.boundAddress }

    init(address: PeerAddress, state: HealthState, registry: PrometheusCollectorRegistry) throws(UVError) {
        eventLoop = try EventLoop()
        // Made before the loop's thread runs, so no other thread touches the loop meanwhile.
        do throws(UVError) {
            server = try AdminServer(eventLoop: eventLoop, address: address, maximumRequestSize: 8 << 10) { request in
                HealthRoutes.respond(to: request, state: state, registry: registry)
            }
        } catch {
            eventLoop.shutdown()
            throw error.naming("the health endpoint (--health)")
        }
        eventLoop.start()
    }

    /// Closes the listener and joins the health thread (from any thread but that one).
    func shutdown() {
        eventLoop.shutdown()
        server = nil
    }
}

enum HealthRoutes {
    static func respond(to request: HTTPRequest, state: HealthState, registry: PrometheusCollectorRegistry) -> HTTPResponse {
        guard request.method == "GET" || request.method == "HEAD" else {
            return .text("\(request.method) is not allowed: the health endpoint is read-only (GET /healthz, /readyz, /metrics)", status: 405)
        }
        switch request.path {
        case "/healthz":
            let age = state.heartbeatAge
            let alive = age.map { $0 <= HealthState.heartbeatLimit } ?? false
            return .json(.object([
                ("alive", .bool(alive)),
                ("heartbeat_age_ms", age.map { .int($0.millisecondsRounded) } ?? .null),
            ]), status: alive ? 200 : 503)
        case "/readyz":
            let readiness = state.currentReadiness
            return .json(.object([("ready", .bool(readiness.isReady)), ("reason", .string(readiness.reason))]),
                         status: readiness.isReady ? 200 : 503)
        case "/metrics":
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", body: registry.emitToBuffer())
        default:
            return .text("no such endpoint on the health port: \(request.path) (GET /healthz, /readyz or /metrics; the admin routes are on the admin endpoint)", status: 404)
        }
    }
}
