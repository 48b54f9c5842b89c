import RumorCore

/// The admin endpoint's routes, answered on the loop thread from the runtime's state.
enum AdminRoutes {
    static func respond(to request: HTTPRequest, runtime: NodeRuntime) -> HTTPResponse {
        switch (request.method, request.path) {
        case ("GET", "/status"):
            guard let status = runtime.statusOnLoop() else { return .text("node not started", status: 503) }
            return .json(statusJSON(status))
        case ("GET", "/metrics"):
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", body: runtime.metricsText())
        case (_, "/status"), (_, "/metrics"):
            return .text("\(request.method) is not allowed on \(request.path); use GET", status: 405)
        default:
            return .text("no such endpoint: \(request.path) (try /status or /metrics)", status: 404)
        }
    }

    static func statusJSON(_ status: RuntimeStatus) -> JSONValue {
        let node = status.node
        let counters = node.counters
        return .object([
            ("id", .string(node.identity.id.rawValue)),
            ("listen", .string(status.listen.description)),
            ("epoch", .int(Int64(clamping: node.epoch))),
            ("protocol_version", .int(Int64(WireFormat.protocolVersion))),
            ("uptime_s", .double(seconds(status.now.since(.zero)))),
            ("active", .array(node.active.map { peer in
                .object([
                    ("id", .string(peer.id.rawValue)),
                    ("address", .string(peer.address.description)),
                    ("epoch", .int(Int64(clamping: peer.epoch))),
                    ("since", .double(seconds(peer.since.since(.zero)))),
                    ("last_heard_ms", .int(status.now.since(peer.lastHeard).millisecondsRounded)),
                ])
            })),
            ("passive", .array(node.passive.map { peer in
                .object([
                    ("id", .string(peer.id.rawValue)),
                    ("address", .string(peer.address.description)),
                    ("age", .int(Int64(peer.age))),
                ])
            })),
            ("pending_links", .int(Int64(node.pendingLinks))),
            ("counters", .object([
                ("handshakes_completed", .int(Int64(counters.handshakesCompleted))),
                ("handshakes_rejected", .int(Int64(counters.handshakesRejected))),
                ("malformed_frames", .int(Int64(counters.malformedFrames))),
                ("silent_links_closed", .int(Int64(counters.silentLinksClosed))),
                ("seed_retries", .int(Int64(counters.seedRetries))),
            ])),
        ])
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.nanosecondsRounded) / 1e9
    }
}
