import RumorCore
import Synchronization

/// What the simulated networks made within one scope checked, for tests: a test run inside a ledger
/// (`InvariantLedger.$current.withValue`) fails when a network in it checked nothing or found a violation.
/// The test targets' `.checkedSimulations` trait sets one up around each test.
public final class InvariantLedger: Sendable {
    /// The ledger networks made now report to.
    @TaskLocal public static var current: InvariantLedger?

    /// One network's report, updated after every step the driver takes.
    public final class Entry: Sendable {
        let checking: Bool
        private let report = Mutex<(checks: Int, violations: [InvariantViolation])>((0, []))

        init(checking: Bool) { self.checking = checking }

        func update(checks: Int, violations: [InvariantViolation]) {
            report.withLock { $0 = (checks, violations) }
        }

        var checks: Int { report.withLock { $0.checks } }
        var violations: [InvariantViolation] { report.withLock { $0.violations } }
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    func open(checking: Bool) -> Entry {
        let entry = Entry(checking: checking)
        entries.withLock { $0.append(entry) }
        return entry
    }

    /// How many networks reported, and how many checks they made in all.
    public var networks: Int { entries.withLock { $0.count } }
    public var checks: Int { entries.withLock { $0.reduce(0) { $0 + $1.checks } } }

    /// What makes the scope fail: a network that checked no invariant (switched off, or never ran an event)
    /// and every violation found, the first few of each network.
    public var problems: [String] {
        entries.withLock { entries in
            entries.enumerated().flatMap { number, entry -> [String] in
                var problems: [String] = []
                if !entry.checking {
                    problems.append("simulated network #\(number + 1) ran with its invariant checker switched off")
                } else if entry.checks == 0 {
                    problems.append("simulated network #\(number + 1) never checked an invariant")
                }
                let violations = entry.violations
                problems += violations.prefix(5).map { "simulated network #\(number + 1): \($0)" }
                if violations.count > 5 { problems.append("simulated network #\(number + 1): \(violations.count - 5) more violations") }
                return problems
            }
        }
    }
}
