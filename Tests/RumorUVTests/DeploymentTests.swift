import Foundation
import Testing
import RumorCore
@testable import RumorUV

/// What a deployed node needs beyond loopback literals: seeds by name, the read-only health endpoint, a
/// leave its peers confirm. Names here resolve through /etc/hosts ("localhost"), so no DNS query leaves the host.
@Suite("Deployment: seed names, health, leave", .serialized)
struct DeploymentTests {
    func json(_ reply: AdminClient.Reply) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
    }

    func seedReports(of node: TestNode) async throws -> [[String: Any]] {
        let reply = try await AdminClient.request("GET", "/status", to: node.endpoints.admin!)
        return try #require(try json(reply)["seeds"] as? [[String: Any]])
    }

    @Test("a seed given by name is looked up when dialled, and /status shows its addresses and how the attempt went")
    func seedByName() async throws {
        let first = try await TestNode.start(id: "first")
        let named = PeerAddress(host: "localhost", port: first.endpoints.listen.port)
        let second = try await TestNode.start(id: "second", seeds: [named])
        #expect(await eventually { await second.activePeerIDs() == ["first"] })
        let seeds = try await seedReports(of: second)
        #expect(seeds.count == 1)
        let report = try #require(seeds.first)
        #expect(report["seed"] as? String == "localhost:\(first.endpoints.listen.port)")
        #expect(report["name"] as? Bool == true)
        let lookup = try #require(report["lookup"] as? [String: Any])
        #expect((lookup["addresses"] as? [String])?.contains("127.0.0.1") == true)
        #expect(lookup["error"] is NSNull)
        #expect((report["outcome"] as? String)?.hasPrefix("linked to first at 127.0.0.1:") == true, "\(report)")
        #expect(report["only_this_node"] as? Bool == false)
        // The descriptor the peer gossips is the address literal, never the name.
        #expect(await first.runtime.status()?.node.active.first?.address == second.endpoints.listen)
        await second.shutdown()
        await first.shutdown()
    }

    @Test("a seed name that does not resolve is retried and reported, never fatal")
    func unresolvableSeed() async throws {
        // ".invalid" is reserved never to resolve (RFC 6761); the resolver answers it without the network.
        let unresolvable = PeerAddress(host: "no-such-seed.invalid", port: 7000)
        let node = try await TestNode.start(id: "lonely", seeds: [unresolvable]) { configuration in
            configuration.node.seedRetryInitialDelay = .milliseconds(100)
        }
        #expect(await eventually {
            let report = try? await seedReports(of: node).first
            return (report?["lookup"] as? [String: Any])?["error"] is String
        })
        let report = try #require(try await seedReports(of: node).first)
        #expect((report["outcome"] as? String)?.contains("looking up no-such-seed.invalid failed") == true, "\(report)")
        #expect(await eventually { (await node.runtime.status()?.node.counters.seedRetries ?? 0) >= 2 }, "the seed is tried again")
        #expect(await node.shutdown() == 0)
    }

    @Test("a node whose seed name resolves only to itself is not ready at first, then ready after 5 s: the first pod of a cluster")
    func firstNodeOfItsCluster() async throws {
        let port = freePort()
        let node = try await TestNode.start(id: "pod-0", seeds: [PeerAddress(host: "localhost", port: port)]) { configuration in
            // Listening on every interface, as a pod does: every address of the host at this port is this node.
            configuration.listen = PeerAddress(host: "0.0.0.0", port: port)
            configuration.node.identity.address = PeerAddress(host: "127.0.0.1", port: port)
            configuration.node.seedRetryInitialDelay = .milliseconds(200)
            configuration.health = PeerAddress(host: "127.0.0.1", port: 0)
        }
        let health = try #require(node.endpoints.health)
        #expect(await eventually {
            (try? await seedReports(of: node).first?["only_this_node"] as? Bool) == true
        })
        // Readiness follows the heartbeat (every quarter second): the first answers after the lookup say why it waits.
        #expect(await eventually {
            guard let early = try? await AdminClient.request("GET", "/readyz", to: health), early.status == 503 else { return false }
            return (try? json(early)["reason"] as? String)?.contains("leads only to this node") == true
        })
        #expect(await eventually(within: .seconds(8)) {
            (try? await AdminClient.request("GET", "/readyz", to: health).status) == 200
        })
        let report = try #require(try await seedReports(of: node).first)
        #expect((report["outcome"] as? String)?.contains("resolves only to this node") == true, "\(report)")
        #expect(await node.runtime.status()?.node.counters.handshakesCompleted == 0, "the node never dialled itself")
        await node.shutdown()
    }

    @Test("the health endpoint answers /healthz, /readyz and /metrics, refuses every admin route, and reports a blocked loop as unhealthy")
    func healthEndpoint() async throws {
        let node = try await TestNode.start(id: "healthy") { $0.health = PeerAddress(host: "127.0.0.1", port: 0) }
        let health = try #require(node.endpoints.health)
        let alive = try await AdminClient.request("GET", "/healthz", to: health)
        #expect(alive.status == 200)
        #expect(try json(alive)["alive"] as? Bool == true)
        let ready = try await AdminClient.request("GET", "/readyz", to: health)
        #expect(ready.status == 200, "no seeds: ready at once (\(ready.text))")
        let metrics = try await AdminClient.request("GET", "/metrics", to: health)
        #expect(metrics.status == 200)
        #expect(metrics.text.contains("rumor_active_peers"))

        for path in ["/publish", "/links", "/status", "/deliveries"] {
            #expect(try await AdminClient.request("POST", path, to: health, body: Array("x".utf8)).status == 405)
            #expect(try await AdminClient.request("GET", path, to: health).status == 404)
        }
        #expect(await node.runtime.deliveries(after: 0).isEmpty, "nothing was published through the health port")

        // A loop that hangs stops the heartbeat; the health thread notices within a second.
        node.eventLoop.execute { usleep(2_500_000) }
        try await Task.sleep(for: .milliseconds(1_500))
        let hung = try await AdminClient.request("GET", "/healthz", to: health)
        #expect(hung.status == 503)
        #expect(try json(hung)["alive"] as? Bool == false)
        #expect(await eventually { (try? await AdminClient.request("GET", "/healthz", to: health).status) == 200 },
                "healthy again once the loop runs")
        #expect(await node.shutdown() == 0)
    }

    @Test("a node with seeds and no peer is not ready and says why; once linked it is")
    func readinessFollowsTheOverlay() async throws {
        let deadPort = freePort()
        let waiting = try await TestNode.start(id: "waiting", seeds: [PeerAddress(host: "127.0.0.1", port: deadPort)]) {
            $0.health = PeerAddress(host: "127.0.0.1", port: 0)
        }
        let health = try #require(waiting.endpoints.health)
        #expect(await eventually { (try? await seedReports(of: waiting).first?["last_attempt_ago_ms"] as? Int) != nil })
        let notReady = try await AdminClient.request("GET", "/readyz", to: health)
        #expect(notReady.status == 503)
        #expect((try json(notReady)["reason"] as? String)?.contains("no active peer yet") == true, "\(notReady.text)")
        // A peer that dials it makes it ready.
        let peer = try await TestNode.start(id: "peer", seeds: [waiting.endpoints.listen])
        #expect(await eventually { (try? await AdminClient.request("GET", "/readyz", to: health).status) == 200 })
        await peer.shutdown()
        await waiting.shutdown()
    }

    @Test("a leave is confirmed by each peer closing its side; the peer counts a departure, not a failure; /readyz turns 503")
    func confirmedLeave() async throws {
        let staying = try await TestNode.start(id: "staying")
        let leaving = try await TestNode.start(id: "leaving", seeds: [staying.endpoints.listen]) {
            $0.health = PeerAddress(host: "127.0.0.1", port: 0)
        }
        #expect(await eventually { await staying.activePeerIDs() == ["leaving"] })
        let outcome = await leaving.runtime.leave(timeout: .seconds(2))
        #expect(outcome == NodeRuntime.LeaveOutcome(links: 1, confirmed: 1, timedOut: false))
        let readiness = try await AdminClient.request("GET", "/readyz", to: try #require(leaving.endpoints.health))
        #expect(readiness.status == 503)
        #expect(try json(readiness)["reason"] as? String == "leaving the overlay")
        #expect(await eventually { await staying.activePeerIDs().isEmpty })
        let counters = try #require(await staying.runtime.status()?.node.counters)
        #expect(counters.departures == 1)
        #expect(counters.failedLinks == 0)
        #expect(counters.silentLinksClosed == 0)
        #expect(await leaving.runtime.leave(timeout: .seconds(1)) == NodeRuntime.LeaveOutcome(links: 0, confirmed: 0, timedOut: false),
                "a second leave has nothing left to do")
        await leaving.shutdown()
        await staying.shutdown()
    }

    @Test("a peer that does not close its side (its loop hangs) is cut at the leave timeout, and the leave says so")
    func leaveTimeout() async throws {
        let hanging = try await TestNode.start(id: "hanging")
        let leaving = try await TestNode.start(id: "leaving", seeds: [hanging.endpoints.listen])
        #expect(await eventually { await leaving.activePeerIDs() == ["hanging"] })
        hanging.eventLoop.execute { usleep(1_500_000) }
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = await leaving.runtime.leave(timeout: .milliseconds(300))
        #expect(outcome == NodeRuntime.LeaveOutcome(links: 1, confirmed: 0, timedOut: true))
        #expect(clock.now - started < .seconds(1), "the leave does not outwait its timeout")
        await leaving.shutdown()
        await hanging.shutdown()
    }
}
