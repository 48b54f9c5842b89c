import RumorSim
import Testing

/// Runs each test inside an invariant ledger: the test fails when a simulated network it made checked no
/// invariant (its checker switched off, or nothing ran) or when any check found a violation. Put it on
/// every suite whose tests drive the simulator: `@Suite(.checkedSimulations)`.
public struct CheckedSimulations: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    /// Around each test case, not around a suite as a whole.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> Self? {
        testCase == nil ? nil : self
    }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let ledger = InvariantLedger()
        try await InvariantLedger.$current.withValue(ledger) { try await function() }
        for problem in ledger.problems { Issue.record(Comment(rawValue: problem)) }
    }
}

extension Trait where Self == CheckedSimulations {
    /// See `CheckedSimulations`.
    public static var checkedSimulations: Self { Self() }
}
