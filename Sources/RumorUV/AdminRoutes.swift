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
            let now = runtime.now
            let samples = runtime.samplePeersOnLoop(count)
            // `validated_ms_ago`: how long ago the peer answered a walk; null for an active peer standing in
            // while the reservoir is short (docs/sampling.md, "What fresh means").
            return .json(.object([("peers", .array(samples.map { sample in
                .object([("id", .string(sample.peer.id.rawValue)), ("address", .string(sample.peer.address.description)),
                         ("validated_ms_ago", sample.validatedAt.map { .int(Int64(now.since($0).nanosecondsRounded / 1_000_000)) } ?? .null)])
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
            // `payloads=0` leaves the payloads out, for pollers that only count and time deliveries.
            let withPayloads = request.query["payloads"] != "0"
            let lines = runtime.deliveries.after(after, limit: max(1, min(limit, 100_000))).map { recorded in
                var fields: [(String, JSONValue)] = [
                    ("seq", .int(Int64(recorded.sequence))),
                    ("id", .string(recorded.delivery.id.description)),
                    ("origin", .string(recorded.delivery.id.origin.rawValue)),
                    ("round", .int(Int64(recorded.delivery.round))),
                    ("received_ns", .int(Int64(clamping: recorded.receivedNanoseconds))),
                ]
                if withPayloads { fields.insert(("payload", .string(Base64.encode(recorded.delivery.payload))), at: 4) }
                return JSONValue.object(fields).serialized() + "\n"
            }.joined()
            return HTTPResponse(status: 200, contentType: "application/x-ndjson", body: Array(lines.utf8))
        case ("GET", "/members"):
            return DirectoryRoutes.members(request.query, runtime: runtime)
        case ("POST", "/tags"):
            return DirectoryRoutes.updateTags(request.body, runtime: runtime)
        case ("GET", "/member-events"):
            return DirectoryRoutes.memberEvents(request.query, runtime: runtime)
        case ("GET", "/links"):
            return .json(linksJSON(runtime.linkShaping))
        case ("POST", "/links"):
            return updateLinks(request.query, runtime: runtime)
        case ("GET", "/metrics"):
            return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", body: runtime.metricsText())
        case (_, "/publish"):
            return .text("\(request.method) is not allowed on /publish; use POST with the payload as the body", status: 405)
        case (_, "/links"):
            return .text("\(request.method) is not allowed on /links; use GET, or POST with query parameters", status: 405)
        case (_, "/tags"):
            return .text("\(request.method) is not allowed on /tags; use POST with {\"set\": {...}, \"delete\": [...]}", status: 405)
        case (_, "/status"), (_, "/metrics"), (_, "/sample"), (_, "/deliveries"), (_, "/members"), (_, "/member-events"):
            return .text("\(request.method) is not allowed on \(request.path); use GET", status: 405)
        default:
            return .text("no such endpoint: \(request.path) (try /status, /members, /member-events?after=N, /sample?k=N, /deliveries?after=N, POST /publish, POST /tags or /metrics)", status: 404)
        }
    }

    /// `POST /links?peers=A,B&latency_ms=20&jitter_ms=10&loss=0.02` sets the conditions of links to those
    /// peers (all links without `peers`); `POST /links?peers=A,B&reset=1` returns them to the default,
    /// `POST /links?reset=1` drops every per-peer setting. Test meshes use it for slow links and partitions.
    private static func updateLinks(_ query: [String: String], runtime: NodeRuntime) -> HTTPResponse {
        var peers: [PeerAddress]?
        if let list = query["peers"] {
            var parsed: [PeerAddress] = []
            for text in list.split(separator: ",") {
                guard let address = try? PeerAddress(parsing: String(text)) else {
                    return .text("peers: '\(text)' is not HOST:PORT", status: 400)
                }
                parsed.append(address)
            }
            guard !parsed.isEmpty else { return .text("peers: expected HOST:PORT,HOST:PORT,...", status: 400) }
            peers = parsed
        }
        if query["reset"] != nil {
            runtime.resetLinkConditionsOnLoop(for: peers)
            return .json(linksJSON(runtime.linkShaping))
        }
        var conditions = LinkConditions()
        func milliseconds(_ key: String) -> Duration?? {
            guard let text = query[key] else { return .some(nil) }
            guard let value = Double(text), value.isFinite, (0...600_000).contains(value) else { return nil }
            return .some(.nanoseconds(Int64(value * 1e6)))
        }
        guard let latency = milliseconds("latency_ms") else { return .text("latency_ms: expected 0 to 600000", status: 400) }
        guard let jitter = milliseconds("jitter_ms") else { return .text("jitter_ms: expected 0 to 600000", status: 400) }
        if let latency { conditions.latency = latency }
        if let jitter { conditions.jitter = jitter }
        if let text = query["loss"] {
            guard let loss = Double(text), (0...1).contains(loss) else { return .text("loss: expected a share from 0 to 1", status: 400) }
            conditions.loss = loss
        }
        guard query["latency_ms"] != nil || query["jitter_ms"] != nil || query["loss"] != nil else {
            return .text("give latency_ms, jitter_ms or loss (or reset=1)", status: 400)
        }
        runtime.setLinkConditionsOnLoop(conditions, for: peers)
        return .json(linksJSON(runtime.linkShaping))
    }

    private static func linksJSON(_ shaping: LinkShaping) -> JSONValue {
        func conditionsJSON(_ conditions: LinkConditions) -> JSONValue {
            .object([
                ("latency_ms", .double(Double(conditions.latency.nanosecondsRounded) / 1e6)),
                ("jitter_ms", .double(Double(conditions.jitter.nanosecondsRounded) / 1e6)),
                ("loss", .double(conditions.loss)),
            ])
        }
        return .object([
            ("default", conditionsJSON(shaping.defaultConditions)),
            ("peers", .object(shaping.overrides.sorted { $0.key < $1.key }.map { ("\($0.key)", conditionsJSON($0.value)) })),
            ("dropped_frames", .int(Int64(clamping: shaping.dropped))),
        ])
    }

    static func statusJSON(_ status: RuntimeStatus) -> JSONValue {
        let node = status.node
        let counters = node.counters
        return .object([
            ("id", .string(node.identity.id.rawValue)),
            ("listen", .string(status.listen.description)),
            ("epoch", .int(Int64(clamping: node.epoch))),
            // The highest version this node offers, and all it offers (what the build speaks, or fewer).
            ("protocol_version", .int(Int64(node.wireVersions.upperBound))),
            ("release", .string(RumorRelease.version)),
            ("cluster", node.clusterName.isEmpty ? .null : .string(node.clusterName)),
            ("wire_versions", .array(node.wireVersions.map { .int(Int64($0)) })),
            ("uptime_s", .double(seconds(status.now.since(.zero)))),
            ("active", .array(node.active.map { peer in
                .object([
                    ("id", .string(peer.id.rawValue)),
                    ("address", .string(peer.address.description)),
                    ("epoch", .int(Int64(clamping: peer.epoch))),
                    ("since", .double(seconds(peer.since.since(.zero)))),
                    ("last_heard_ms", .int(status.now.since(peer.lastHeard).millisecondsRounded)),
                    ("wire_version", .int(Int64(peer.wireVersion))),
                    ("rtt_ms", peer.roundTripTime.map { .double(Double($0.nanosecondsRounded) / 1e6) } ?? .null),
                    ("silence_threshold_ms", peer.silenceThreshold.map { .int($0.millisecondsRounded) } ?? .null),
                ])
            })),
            ("passive", .array(node.passive.map { peer in
                .object([
                    ("id", .string(peer.id.rawValue)),
                    ("address", .string(peer.address.description)),
                    ("age", .int(Int64(peer.age))),
                ])
            })),
            ("seeds", .array(status.seeds.map { seedJSON($0, now: status.now) })),
            ("pending_links", .int(Int64(node.pendingLinks))),
            ("eager", .array(node.broadcast.eager.map { .string($0.rawValue) })),
            ("lazy", .array(node.broadcast.lazy.map { .string($0.rawValue) })),
            ("payload_cache", .object([("messages", .int(Int64(node.broadcast.cachedPayloads))),
                                       ("bytes", .int(Int64(node.broadcast.cachedBytes)))])),
            ("seen_ids", .int(Int64(node.broadcast.seenIDs))),
            ("local_health", .int(Int64(node.localHealthScore))),
            ("directory", .object([
                ("members", .int(Int64(node.directory.total))),
                ("alive", .int(Int64(node.directory.alive))),
                ("suspect", .int(Int64(node.directory.suspect))),
                ("failed", .int(Int64(node.directory.failed))),
                ("left", .int(Int64(node.directory.left))),
                ("own_version", .int(Int64(clamping: node.directory.ownVersion))),
            ])),
            ("counters", .object([
                ("handshakes_completed", .int(Int64(counters.handshakesCompleted))),
                ("handshakes_rejected", .int(Int64(counters.handshakesRejected))),
                ("malformed_frames", .int(Int64(counters.malformedFrames))),
                ("silent_links_closed", .int(Int64(counters.silentLinksClosed))),
                ("late_maintenance_ticks", .int(Int64(counters.lateMaintenanceTicks))),
                ("seed_retries", .int(Int64(counters.seedRetries))),
                ("joins", .int(Int64(counters.joins))),
                ("forward_joins", .int(Int64(counters.forwardJoins))),
                ("shuffles_sent", .int(Int64(counters.shufflesSent))),
                ("shuffles_received", .int(Int64(counters.shufflesReceived))),
                ("replacements", .int(Int64(counters.replacements))),
                ("rotations", .int(Int64(counters.rotations))),
                ("failed_links", .int(Int64(counters.failedLinks))),
                ("departures", .int(Int64(counters.departures))),
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
                ("ihaves_withdrawn", .int(Int64(counters.iHavesWithdrawn))),
                ("tree_bridges", .int(Int64(counters.treeBridges))),
                ("tree_optimizations", .int(Int64(counters.treeOptimizations))),
                ("graft_timeouts", .int(Int64(counters.graftTimeouts))),
                ("payload_bytes_out", .int(Int64(counters.payloadBytesOut))),
                ("pulled", .int(Int64(counters.pulled))),
                ("directory_entries_published", .int(Int64(counters.directoryEntriesPublished))),
                ("directory_entries_applied", .int(Int64(counters.directoryEntriesApplied))),
                ("directory_exchanges", .int(Int64(counters.directoryExchanges))),
                ("failure_reports_sent", .int(Int64(counters.failureReportsSent))),
                ("members_marked_failed", .int(Int64(counters.membersMarkedFailed))),
                ("directory_refutations", .int(Int64(counters.directoryRefutations))),
                ("directory_ghosts_refused", .int(Int64(counters.directoryGhostsRefused))),
                ("directory_updates_rejected", .int(Int64(counters.directoryUpdatesRejected))),
                ("unknown_topic_payloads", .int(Int64(counters.unknownTopicPayloads))),
                ("oversized_payloads_dropped", .int(Int64(counters.oversizedPayloadsDropped))),
                ("announcements_ignored", .int(Int64(counters.announcementsIgnored))),
                ("shuffle_entries_ignored", .int(Int64(counters.shuffleEntriesIgnored))),
                ("cache_evictions_for_space", .int(Int64(counters.cacheEvictionsForSpace))),
                ("seen_evictions_for_space", .int(Int64(counters.seenEvictionsForSpace))),
            ])),
        ])
    }

    /// A seed with its last lookup (names only) and the outcome of its last attempt, with their ages.
    private static func seedJSON(_ report: SeedReports.Report, now: Timestamp) -> JSONValue {
        func age(_ time: Timestamp?) -> JSONValue { time.map { .int(now.since($0).millisecondsRounded) } ?? .null }
        var fields: [(String, JSONValue)] = [("seed", .string(report.seed.description)), ("name", .bool(report.isName))]
        if report.isName {
            fields.append(("lookup", .object([
                ("ago_ms", age(report.lastLookup)),
                ("addresses", .array(report.addresses.map { .string($0) })),
                ("error", report.lookupError.map { .string($0) } ?? .null),
            ])))
        }
        fields.append(("last_attempt_ago_ms", age(report.lastAttempt)))
        fields.append(("outcome", .string(report.outcome)))
        fields.append(("only_this_node", .bool(report.onlySelfSince != nil)))
        return .object(fields)
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.nanosecondsRounded) / 1e9
    }
}
