import RumorCore

/// The admin endpoint's routes, answered on the loop thread from the runtime's state.
enum AdminRoutes {
    static func respond(to request: HTTPRequest, runtime: NodeRuntime) -> HTTPResponse {
        switch (request.method, request.path) {
        case ("GET", "/status"):
            guard let status = runtime.statusOnLoop() else { return .text("node not started", status: 503) }
            return .json(statusJSON(status))
        case ("GET", "/sample"):
            guard let count = Int(request.query["k"] ?? "8"), (1...1000).contains(count) else {
                return .text("k must be a whole number from 1 to 1000", status: 400)
            }
            let peers = runtime.samplePeersOnLoop(count)
            return .json(.object([("peers", .array(peers.map { peer in
                .object([("id", .string(peer.id.rawValue)), ("address", .string(peer.address.description))])
            }))]))
        case ("POST", "/publish"):
            switch runtime.publishOnLoop(request.body) {
            case .success(let id):
                return .json(.object([("id", .string(id.description))]))
            case .failure(let error):
                if case .payloadTooLarge = error { return .text(error.description, status: 413) }
                return .text(error.description, status: 503)
            }
        case ("GET", "/deliveries"):
            guard let after = UInt64(request.query["after"] ?? "0") else {
                return .text("after must be a delivery number (0 for all)", status: 400)
            }
            let limit = Int(request.query["limit"] ?? "10000") ?? 10_000
            let lines = runtime.deliveries.after(after, limit: max(1, min(limit, 100_000))).map { recorded in
                JSONValue.object([
                    ("seq", .int(Int64(recorded.sequence))),
                    ("id", .string(recorded.delivery.id.description)),
                    ("origin", .string(recorded.delivery.id.origin.rawValue)),
                    ("round", .int(Int64(recorded.delivery.round))),
                    ("payload", .string(Base64.encode(recorded.delivery.payload))),
                    ("received_ns", .int(Int64(clamping: recorded.receivedNanoseconds))),
                ]).serialized() + "\n"
            }.joined()
            return HTTPResponse(status: 200, contentType: "application/x-ndjson", body: Array(lines.utf8))
        case ("GET", "/metrics"):
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", body: runtime.metricsText())
        case (_, "/publish"):
            return .text("\(request.method) is not allowed on /publish; use POST with the payload as the body", status: 405)
        case (_, "/status"), (_, "/metrics"), (_, "/sample"), (_, "/deliveries"):
            return .text("\(request.method) is not allowed on \(request.path); use GET", status: 405)
        default:
            return .text("no such endpoint: \(request.path) (try /status, /sample?k=N, /deliveries?after=N, POST /publish or /metrics)", status: 404)
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
            ("eager", .array(node.broadcast.eager.map { .string($0.rawValue) })),
            ("lazy", .array(node.broadcast.lazy.map { .string($0.rawValue) })),
            ("payload_cache", .object([("messages", .int(Int64(node.broadcast.cachedPayloads))),
                                       ("bytes", .int(Int64(node.broadcast.cachedBytes)))])),
            ("seen_ids", .int(Int64(node.broadcast.seenIDs))),
            ("counters", .object([
                ("handshakes_completed", .int(Int64(counters.handshakesCompleted))),
                ("handshakes_rejected", .int(Int64(counters.handshakesRejected))),
                ("malformed_frames", .int(Int64(counters.malformedFrames))),
                ("silent_links_closed", .int(Int64(counters.silentLinksClosed))),
                ("seed_retries", .int(Int64(counters.seedRetries))),
                ("joins", .int(Int64(counters.joins))),
                ("forward_joins", .int(Int64(counters.forwardJoins))),
                ("shuffles_sent", .int(Int64(counters.shufflesSent))),
                ("shuffles_received", .int(Int64(counters.shufflesReceived))),
                ("replacements", .int(Int64(counters.replacements))),
                ("failed_links", .int(Int64(counters.failedLinks))),
                ("healing_probes", .int(Int64(counters.healingProbes))),
                ("healed_links", .int(Int64(counters.healedLinks))),
                ("delivered", .int(Int64(counters.delivered))),
                ("payloads_received", .int(Int64(counters.payloadsReceived))),
                ("duplicates", .int(Int64(counters.duplicates))),
                ("grafts_sent", .int(Int64(counters.graftsSent))),
                ("grafts_received", .int(Int64(counters.graftsReceived))),
                ("prunes_sent", .int(Int64(counters.prunesSent))),
                ("prunes_received", .int(Int64(counters.prunesReceived))),
                ("ihaves_sent", .int(Int64(counters.iHavesSent))),
                ("ihaves_received", .int(Int64(counters.iHavesReceived))),
                ("payload_bytes_out", .int(Int64(counters.payloadBytesOut))),
                ("pulled", .int(Int64(counters.pulled))),
            ])),
        ])
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.nanosecondsRounded) / 1e9
    }
}
