import RumorCore
import RumorUV
import Testing

/// Readiness and the isolation warning, from what the runtime learnt of its seeds: pure rules, an injected clock.
@Suite("Readiness and isolation")
struct ReadinessTests {
    let own = PeerAddress(host: "198.18.1.1", port: 7000)
    let seedName = PeerAddress(host: "rumor.rumor.svc", port: 7000)

    func at(_ seconds: Double) -> Timestamp { Timestamp(nanoseconds: UInt64(seconds * 1e9)) }

    @Test("a node with an active peer is ready, and a leaving one never is")
    func activePeerAndLeaving() {
        let seeds = SeedReports(seeds: [seedName], ownAddress: own)
        #expect(Readiness.evaluate(activePeers: 2, seeds: seeds, leaving: false, now: at(1)).isReady)
        let leaving = Readiness.evaluate(activePeers: 2, seeds: seeds, leaving: true, now: at(1))
        #expect(!leaving.isReady)
        #expect(leaving.reason == "leaving the overlay")
    }

    @Test("a node without seeds is ready at once: it is the one others join")
    func noSeeds() {
        let seeds = SeedReports(seeds: [], ownAddress: own)
        #expect(Readiness.evaluate(activePeers: 0, seeds: seeds, leaving: false, now: .zero).isReady)
    }

    @Test("a seed name that resolves only to this node makes it ready after 5 s of that, and not before")
    func firstPodOfACluster() {
        var seeds = SeedReports(seeds: [seedName], ownAddress: own)
        #expect(!Readiness.evaluate(activePeers: 0, seeds: seeds, leaving: false, now: at(0)).isReady)
        seeds.recordLookup(of: seedName, .success(["198.18.1.1"]), others: 0, at: at(1))
        let early = Readiness.evaluate(activePeers: 0, seeds: seeds, leaving: false, now: at(5.9))
        #expect(!early.isReady)
        #expect(early.reason.contains("leads only to this node"))
        seeds.recordLookup(of: seedName, .success(["198.18.1.1"]), others: 0, at: at(3))
        #expect(Readiness.evaluate(activePeers: 0, seeds: seeds, leaving: false, now: at(6)).isReady,
                "the grace counts from the first self-only answer, not the latest")
    }

    @Test("once the seed name also names another node, the grace starts over and the reason tells the seed's story")
    func anotherPodAppears() {
        var seeds = SeedReports(seeds: [seedName], ownAddress: own)
        seeds.recordLookup(of: seedName, .success(["198.18.1.1"]), others: 0, at: at(0))
        seeds.recordLookup(of: seedName, .success(["198.18.1.1", "198.18.1.2"]), others: 1, at: at(4))
        seeds.recordOutcome(of: seedName, "198.18.1.2:7000: connection refused", at: at(4))
        let waiting = Readiness.evaluate(activePeers: 0, seeds: seeds, leaving: false, now: at(10))
        #expect(!waiting.isReady)
        #expect(waiting.reason.contains("rumor.rumor.svc:7000: resolves to 198.18.1.1, 198.18.1.2; 198.18.1.2:7000: connection refused"))
    }

    @Test("a failed lookup is not 'only this node': a node whose DNS is down does not declare itself the first")
    func lookupFailure() {
        var seeds = SeedReports(seeds: [seedName], ownAddress: own)
        seeds.recordLookup(of: seedName, .success(["198.18.1.1"]), others: 0, at: at(0))
        seeds.recordLookup(of: seedName, .failure(LookupFailure("no such name (NXDOMAIN)")), others: 0, at: at(1))
        #expect(seeds.allOnlySelfSince == nil)
        #expect(!Readiness.evaluate(activePeers: 0, seeds: seeds, leaving: false, now: at(20)).isReady)
        #expect(seeds.story == ["rumor.rumor.svc:7000: lookup failed: no such name (NXDOMAIN)"])
    }

    @Test("a literal seed that is this node's own address leads nowhere from the start; every seed must for readiness")
    func ownLiteralSeed() {
        let other = PeerAddress(host: "198.18.1.9", port: 7000)
        let alone = SeedReports(seeds: [own], ownAddress: own)
        #expect(alone.allOnlySelfSince == .zero)
        #expect(Readiness.evaluate(activePeers: 0, seeds: alone, leaving: false, now: at(5)).isReady)
        let withOther = SeedReports(seeds: [own, other], ownAddress: own)
        #expect(withOther.allOnlySelfSince == nil)
    }

    @Test("a node with seeds alone for 10 s warns once with its story, again only when the story changes, and says when it rejoins")
    func isolationWarning() {
        var seeds = SeedReports(seeds: [seedName], ownAddress: own)
        var watch = IsolationWatch()
        seeds.recordLookup(of: seedName, .failure(LookupFailure("timed out after 5 s")), others: 0, at: at(0))
        #expect(watch.observe(activePeers: 0, seeds: seeds, now: at(0)) == nil)
        #expect(watch.observe(activePeers: 0, seeds: seeds, now: at(9.9)) == nil)
        #expect(watch.observe(activePeers: 0, seeds: seeds, now: at(10)) ==
                .isolated(for: .seconds(10), story: ["rumor.rumor.svc:7000: lookup failed: timed out after 5 s"]))
        #expect(watch.observe(activePeers: 0, seeds: seeds, now: at(11)) == nil, "the same story is not told twice")
        seeds.recordLookup(of: seedName, .success(["198.18.1.2"]), others: 1, at: at(12))
        seeds.recordOutcome(of: seedName, "198.18.1.2:7000: timed out", at: at(12))
        #expect(watch.observe(activePeers: 0, seeds: seeds, now: at(13)) ==
                .isolated(for: .seconds(13), story: ["rumor.rumor.svc:7000: resolves to 198.18.1.2; 198.18.1.2:7000: timed out"]))
        #expect(watch.observe(activePeers: 1, seeds: seeds, now: at(14)) == .rejoined(after: .seconds(14)))
        #expect(watch.observe(activePeers: 1, seeds: seeds, now: at(15)) == nil)
    }

    @Test("a node that finds a peer before 10 s is never reported isolated or rejoined; a node without seeds is never watched")
    func shortAbsence() {
        let seeds = SeedReports(seeds: [seedName], ownAddress: own)
        var watch = IsolationWatch()
        #expect(watch.observe(activePeers: 0, seeds: seeds, now: at(0)) == nil)
        #expect(watch.observe(activePeers: 1, seeds: seeds, now: at(9)) == nil)
        var unseeded = IsolationWatch()
        #expect(unseeded.observe(activePeers: 0, seeds: SeedReports(seeds: [], ownAddress: own), now: at(60)) == nil)
    }
}
