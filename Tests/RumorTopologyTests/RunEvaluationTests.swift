import RumorCore
import Testing
@testable import RumorTopology

@Suite("Run evaluation: figures and checks from an observation")
struct RunEvaluationTests {
    /// Three nodes; c is killed at 10 s. Message m1 (at 1 s) reaches all three; m2 (at 8 s) misses b; m3
    /// (at 12 s) reaches a and b, and c, dead by then, is not expected.
    func observation() -> RunObservation {
        var observation = RunObservation(duration: .seconds(20))
        observation.lives = [.init(node: "a", start: .zero), .init(node: "b", start: .zero), .init(node: "c", start: .zero, end: .seconds(10))]
        observation.events = [.init(at: .zero, label: "start", expectsConnectedOverlay: true),
                              .init(at: .seconds(10), label: "kill 1", expectsConnectedOverlay: true)]
        observation.publications = [.init(id: "m1", origin: "a", at: .seconds(1)), .init(id: "m2", origin: "a", at: .seconds(8)),
                                    .init(id: "m3", origin: "b", at: .seconds(12))]
        observation.deliveries = [
            .init(message: "m1", node: "a", life: 0, at: .seconds(1)), .init(message: "m1", node: "b", life: 1, at: .milliseconds(1010)),
            .init(message: "m1", node: "c", life: 2, at: .milliseconds(1030)), .init(message: "m1", node: "c", life: 2, at: .milliseconds(1500)),
            .init(message: "m2", node: "a", life: 0, at: .seconds(8)),
            .init(message: "m3", node: "b", life: 1, at: .seconds(12)), .init(message: "m3", node: "a", life: 0, at: .milliseconds(12_002)),
        ]
        // Connected at 1 s; after the kill, b's view still names c until 12 s, and the overlay is split until 11 s.
        observation.snapshots = [
            .init(at: .seconds(1), views: ["a": ["b", "c"], "b": ["a"], "c": ["a"]]),
            .init(at: .milliseconds(10_500), views: ["a": ["c"], "b": ["c"]]),
            .init(at: .seconds(11), views: ["a": ["b", "c"], "b": ["a", "c"]]),
            .init(at: .seconds(12), views: ["a": ["b"], "b": ["a"]]),
        ]
        return observation
    }

    @Test("reliability counts only nodes up at the publish and for the window after; duplicates are per life")
    func broadcastFigures() throws {
        let evaluation = RunEvaluation(observation: observation(), checks: [
            try Check.parse("reliability >= 0.9"), try Check.parse("reliability >= 1.0 after 2s"),
            try Check.parse("duplicates == 0"), try Check.parse("latency max <= 40ms"),
        ])
        #expect(evaluation.messages.map(\.expected) == [3, 2, 2])
        #expect(evaluation.messages.map(\.delivered) == [3, 1, 2])
        #expect(evaluation.messages[1].missing == ["b"])
        #expect(abs(evaluation.reliability - 6.0 / 7.0) < 1e-9)
        #expect(evaluation.duplicates == 1)
        #expect(evaluation.messages[0].latencyToLast == 0.03)
        #expect(evaluation.messages[1].latencyToLast == nil)
        #expect(evaluation.checks.map(\.passed) == [false, false, false, true])
        // m1 comes 1 s after the start and is not counted; m2 (8 s after it) and m3 (2 s after the kill) are.
        #expect(evaluation.checks[1].measured == "0.75 (1 of 4 deliveries missing, 2 messages)")
    }

    @Test("connected and repaired are timed from each change to the first snapshot that shows them")
    func convergence() throws {
        let evaluation = RunEvaluation(observation: observation(), checks: [
            try Check.parse("connected within 1s"), try Check.parse("repaired within 1s"), try Check.parse("repaired within 3s"),
        ])
        let afterKill = try #require(evaluation.convergence.first { $0.label == "kill 1" })
        #expect(afterKill.connectedAfter == 1)
        #expect(afterKill.repairedAfter == 2)
        #expect(evaluation.checks.map(\.passed) == [true, false, true])
        #expect(evaluation.overlay[1].components == 2 && evaluation.overlay[1].deadEntries == 2)
    }

    @Test("false failures counts only marks of members running and unfrozen for 10 s: a killed, frozen or just restarted member's marks are true")
    func falseFailures() throws {
        var observation = RunObservation(duration: .seconds(60))
        observation.lives = [
            .init(node: "a", start: .zero), .init(node: "b", start: .zero),
            .init(node: "c", start: .zero, end: .seconds(20)),                                     // killed at 20 s
            .init(node: "d", start: .zero, end: .seconds(30)), .init(node: "d", start: .seconds(35)), // frozen 30-35 s
        ]
        let check = try Check.parse("false failures == 0")
        #expect(check.kind == .falseFailures(maximum: 0))
        #expect(RunEvaluation(observation: observation, checks: [check]).checks.first?.passed == false,
                "without collected member events the check cannot pass")
        observation.memberFailures = [
            .init(observer: "a", member: "c", at: .milliseconds(20_030)),  // killed: true
            .init(observer: "a", member: "d", at: .seconds(34)),           // frozen: true
            .init(observer: "b", member: "d", at: .seconds(37)),           // its frozen life's mark, 2 s after the thaw: true
        ]
        var evaluation = RunEvaluation(observation: observation, checks: [check])
        #expect(evaluation.checks.first?.passed == true, "\(evaluation.checks)")
        observation.memberFailures?.append(.init(observer: "a", member: "b", at: .seconds(40)))
        evaluation = RunEvaluation(observation: observation, checks: [check, try Check.parse("false failures <= 1")])
        #expect(evaluation.checks.map(\.passed) == [false, true])
        #expect(evaluation.checks.first?.measured.contains("b by a at 40 s") == true, "\(evaluation.checks)")
        #expect(throws: (any Error).self) { try Check.parse("false failures >= 0") }
        #expect(throws: (any Error).self) { try Check.parse("false alarms == 0") }
    }
}
