import Foundation
import RumorCore
import Testing
@testable import RumorUV

@Suite("Link conditions for test meshes", .serialized)
struct LinkShapingTests {
    @Test("a cut (loss 1) keeps two nodes apart; resetting it through /links lets them link")
    func cutAndReset() async throws {
        let alpha = try await TestNode.start(id: "alpha")
        let beta = try await TestNode.start(id: "beta", seeds: [alpha.endpoints.listen]) { configuration in
            // Every frame beta receives is dropped: its JOIN gets no answer it can hear.
            configuration.links = .cut
        }
        try? await Task.sleep(for: .milliseconds(500))
        #expect(await beta.activePeerIDs().isEmpty)
        let reply = try await AdminClient.request("POST", "/links?loss=0", to: beta.endpoints.admin!)
        #expect(reply.status == 200)
        #expect(reply.text.contains("\"loss\":0"))
        #expect(await eventually(within: .seconds(10)) { await beta.activePeerIDs() == ["alpha"] })
        #expect(await alpha.shutdown() == 0)
        #expect(await beta.shutdown() == 0)
    }

    @Test("latency set per peer delays that peer's frames and keeps their order; bad queries are refused")
    func latencyPerPeer() async throws {
        let alpha = try await TestNode.start(id: "alpha")
        let beta = try await TestNode.start(id: "beta", seeds: [alpha.endpoints.listen])
        #expect(await eventually { await beta.activePeerIDs() == ["alpha"] })
        let admin = beta.endpoints.admin!
        let set = try await AdminClient.request("POST", "/links?peers=\(alpha.endpoints.listen)&latency_ms=150", to: admin)
        #expect(set.status == 200)
        let stream = await beta.runtime.deliveryStream()
        var iterator = stream.makeAsyncIterator()
        let clock = ContinuousClock()
        let sent = clock.now
        for index in 0..<5 { _ = try await alpha.runtime.publish(Array("message \(index)".utf8)) }
        var payloads: [String] = []
        for _ in 0..<5 {
            guard case .delivery(let recorded) = await iterator.next() else { break }
            payloads.append(String(decoding: recorded.delivery.payload, as: UTF8.self))
        }
        #expect(clock.now - sent >= .milliseconds(150))
        #expect(payloads == (0..<5).map { "message \($0)" })
        for query in ["loss=2", "latency_ms=-1", "peers=nonsense&loss=0.1", ""] {
            #expect(try await AdminClient.request("POST", "/links?\(query)", to: admin).status == 400, "query \(query)")
        }
        #expect(await alpha.shutdown() == 0)
        #expect(await beta.shutdown() == 0)
    }
}
