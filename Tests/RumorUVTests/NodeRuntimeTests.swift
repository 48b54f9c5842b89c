import Foundation
import Testing
import RumorCore
@testable import RumorUV

@Suite("Node runtime on loopback", .serialized)
struct NodeRuntimeTests {
    @Test("a node seeded with another links to it, both report it on /status, and shutdown closes every handle")
    func twoNodesLink() async throws {
        let first = try await TestNode.start(id: "first")
        let second = try await TestNode.start(id: "second", seeds: [first.endpoints.listen])
        let linked = await eventually {
            let firstPeers = await first.activePeerIDs()
            let secondPeers = await second.activePeerIDs()
            return firstPeers == ["second"] && secondPeers == ["first"]
        }
        #expect(linked)

        let reply = try await AdminClient.request("GET", "/status", to: second.endpoints.admin!)
        #expect(reply.status == 200)
        let status = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
        #expect(status["id"] as? String == "second")
        #expect(status["listen"] as? String == second.endpoints.listen.description)
        #expect(status["epoch"] as? Int == 1)
        #expect((status["uptime_s"] as? Double ?? -1) >= 0)
        let active = try #require(status["active"] as? [[String: Any]])
        #expect(active.first?["id"] as? String == "first")
        #expect(active.first?["address"] as? String == first.endpoints.listen.description)
        #expect(status["passive"] is [Any])

        let metrics = try await AdminClient.request("GET", "/metrics", to: second.endpoints.admin!)
        #expect(metrics.status == 200)
        for name in ["rumor_frames_in_total", "rumor_bytes_out_total", "rumor_links_opened_total 1", "rumor_decode_errors_total 0", "rumor_active_peers 1"] {
            #expect(metrics.text.contains(name), "missing \(name) in\n\(metrics.text)")
        }

        let sample = try await AdminClient.request("GET", "/sample?k=3", to: second.endpoints.admin!)
        let peers = try #require((try JSONSerialization.jsonObject(with: Data(sample.body)) as? [String: Any])?["peers"] as? [[String: Any]])
        #expect(peers.map { $0["id"] as? String } == ["first"])
        // A walk's answer carries how long ago it came; an active peer standing in carries null.
        #expect(peers.allSatisfy { $0["validated_ms_ago"] is Int || $0["validated_ms_ago"] is NSNull }, "\(peers)")
        #expect(await second.runtime.samplePeers(5).map(\.id.rawValue) == ["first"])
        let badSample = try await AdminClient.request("GET", "/sample?k=zero", to: second.endpoints.admin!)
        #expect(badSample.status == 400)

        #expect(await second.shutdown() == 0)
        #expect(await first.shutdown() == 0)
    }

    @Test("a publish whose send overflows a peer's write queue hears of the closed link only after its own effects are carried out")
    func overflowDuringPublishWaitsForTheBatch() async throws {
        let publisher = try await TestNode.start(id: "publisher", admin: false) { $0.limits.maximumQueuedBytes = 64 << 10 }
        let peer = try await TestNode.start(id: "peer", seeds: [publisher.endpoints.listen], admin: false)
        #expect(await eventually { await publisher.activePeerIDs() == ["peer"] })
        let runtime = publisher.runtime
        // The link's opening exchanges (the directories' reconciliation) are over, so no frame from the peer
        // lands in the publish's batch and is counted beside the closing.
        let listed = await eventually {
            let here = await runtime.members().count
            let there = await peer.runtime.members().count
            return here == 2 && there == 2
        }
        #expect(listed)
        try await Task.sleep(for: .milliseconds(200))
        let deferredBefore = await publisher.eventLoop.submit { runtime.eventsDeferred }
        // Larger than the write queue: the send aborts the link in the middle of the publish's effects.
        _ = try await runtime.publish([UInt8](repeating: 7, count: 200 << 10))
        let deferredAfter = await publisher.eventLoop.submit { runtime.eventsDeferred }
        #expect(deferredAfter - deferredBefore == 1, "the link's closing must wait for the publish's batch, not enter the core inside it")
        let failed = await eventually { (await runtime.status()?.node.counters.failedLinks ?? 0) >= 1 }
        #expect(failed, "the overflowing link is closed as failed")
        #expect(await peer.shutdown() == 0)
        #expect(await publisher.shutdown() == 0)
    }

    @Test("a peer that sends garbage is disconnected and counted while the node goes on serving others")
    func garbagePeerIsDisconnected() async throws {
        let node = try await TestNode.start(id: "victim")
        let garbage = try RawSocket(connectingTo: node.endpoints.listen)
        garbage.send([0, 0, 0, 5, 1, 0xEE, 1, 2, 3])
        let outcome = garbage.readUntilClosed()
        #expect(outcome.closed)
        // What the node said first was its own handshake.
        let frames = try decodeFrames(outcome.bytes)
        #expect(frames.first.map { if case .handshake = $0 { true } else { false } } == true)

        let neighbour = try await TestNode.start(id: "neighbour", seeds: [node.endpoints.listen])
        #expect(await eventually { await node.activePeerIDs() == ["neighbour"] })
        let metrics = try await AdminClient.request("GET", "/metrics", to: node.endpoints.admin!)
        #expect(metrics.text.contains("rumor_decode_errors_total 1"), "\(metrics.text)")
        await neighbour.shutdown()
        #expect(await node.shutdown() == 0)
    }

    @Test("an oversized length prefix closes the link before anything of that size is read or allocated")
    func oversizedLengthPrefix() async throws {
        let node = try await TestNode.start(id: "bounded") { $0.limits.maximumFrameSize = 4096 }
        let attacker = try RawSocket(connectingTo: node.endpoints.listen)
        attacker.send([0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3])
        #expect(attacker.readUntilClosed().closed)
        let metrics = try await AdminClient.request("GET", "/metrics", to: node.endpoints.admin!)
        #expect(metrics.text.contains("rumor_decode_errors_total 1"))
        #expect(await node.shutdown() == 0)
    }

    @Test("the admin endpoint answers malformed HTTP with 400 and unknown paths with 404")
    func adminRejectsBadRequests() async throws {
        let node = try await TestNode.start(id: "admin")
        let client = try RawSocket(connectingTo: node.endpoints.admin!)
        client.send(Array("NOT HTTP AT ALL\r\n\r\n".utf8))
        let answer = String(decoding: client.readUntilClosed().bytes, as: UTF8.self)
        #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
        let missing = try await AdminClient.request("GET", "/nowhere", to: node.endpoints.admin!)
        #expect(missing.status == 404)
        #expect(await node.shutdown() == 0)
    }

    @Test("a node whose port is taken fails to start with an error that names the address")
    func portInUse() async throws {
        let node = try await TestNode.start(id: "owner")
        do {
            _ = try await TestNode.start(id: "intruder") { $0.listen = node.endpoints.listen }
            Issue.record("a second node bound the same port")
        } catch {
            #expect("\(error)".contains("EADDRINUSE") && "\(error)".contains(node.endpoints.listen.description), "\(error)")
        }
        #expect(await node.shutdown() == 0)
    }
}

@Suite("Broadcast through the runtime", .serialized)
struct RuntimeBroadcastTests {
    @Test("a message published with POST /publish is delivered once on every node, listed by /deliveries and streamed to subscribers")
    func publishAndDeliver() async throws {
        let first = try await TestNode.start(id: "first")
        let second = try await TestNode.start(id: "second", seeds: [first.endpoints.listen])
        let third = try await TestNode.start(id: "third", seeds: [first.endpoints.listen])
        let linked = await eventually {
            let thirdPeers = await third.activePeerIDs()
            let secondPeers = await second.activePeerIDs()
            return !thirdPeers.isEmpty && !secondPeers.isEmpty
        }
        #expect(linked)
        let stream = await third.runtime.deliveryStream(buffer: 16)

        let reply = try await AdminClient.request("POST", "/publish", to: second.endpoints.admin!, body: Array("hello".utf8))
        #expect(reply.status == 200)
        let id = try #require((try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])?["id"] as? String)
        #expect(id.hasPrefix("second/1/"))

        for node in [first, second, third] {
            let delivered = await eventually {
                let lines = (try? await AdminClient.request("GET", "/deliveries?after=0", to: node.endpoints.admin!))?.text ?? ""
                return lines.split(separator: "\n").count == 1 && lines.contains("\"id\":\"\(id)\"")
            }
            #expect(delivered)
        }
        let lines = try await AdminClient.request("GET", "/deliveries?after=0", to: first.endpoints.admin!).text
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines.utf8)) as? [String: Any])
        #expect(object["seq"] as? Int == 1 && object["origin"] as? String == "second")
        #expect(object["payload"] as? String == "aGVsbG8=")
        #expect((object["received_ns"] as? Int ?? 0) > 1_700_000_000_000_000_000)
        let after = try await AdminClient.request("GET", "/deliveries?after=1", to: first.endpoints.admin!)
        #expect(after.text.isEmpty)

        var iterator = stream.makeAsyncIterator()
        if case .delivery(let recorded) = await iterator.next() {
            #expect(recorded.delivery.id.description == id && recorded.delivery.payload == Array("hello".utf8))
        } else {
            Issue.record("no delivery on the stream")
        }

        let tooLarge = try await AdminClient.request("POST", "/publish", to: first.endpoints.admin!, body: [UInt8](repeating: 1, count: 300_000))
        #expect(tooLarge.status == 413 && tooLarge.text.contains("262144"))
        for node in [third, second, first] { #expect(await node.shutdown() == 0) }
    }

    @Test("a subscriber that stops reading is told how many deliveries it missed; the node does not wait for it")
    func laggingSubscriber() async throws {
        let node = try await TestNode.start(id: "solo")
        let stream = await node.runtime.deliveryStream(buffer: 4)
        for index in 0..<20 { _ = try await node.runtime.publish([UInt8(index)]) }
        var iterator = stream.makeAsyncIterator()
        var lagged = 0
        var delivered: [UInt8] = []
        while delivered.count + lagged < 20, let event = await iterator.next() {
            switch event {
            case .lagged(let missed): lagged += missed
            case .delivery(let recorded): delivered += recorded.delivery.payload
            }
        }
        // The four that fit the buffer arrive; the sixteen after them are reported, not silently lost.
        #expect(delivered == [0, 1, 2, 3] && lagged == 16, "seen \(delivered), missed \(lagged)")
        // Once it reads again it gets new deliveries.
        _ = try await node.runtime.publish([42])
        if case .delivery(let recorded) = await iterator.next() { #expect(recorded.delivery.payload == [42]) }
        #expect(await node.shutdown() == 0)
    }
}
