import RumorCore

/// The figures of one run, computed from a `RunObservation`, and the verdict on each of the topology's checks.
public struct RunEvaluation: Codable, Sendable {
    public struct MessageFigures: Codable, Sendable {
        public var id: String
        public var origin: String
        public var publishedAt: Double
        /// Nodes up at the publish and still up `deliveryWindow` later: those that must deliver it.
        public var expected: Int
        public var delivered: Int
        /// Seconds from the publish to the last expected node's delivery; nil if some never delivered.
        public var latencyToLast: Double?
        /// Seconds from the publish to the last delivery among those that came (for charts of lossy runs).
        public var latencyToLastDelivered: Double?
        /// Up to ten of the nodes that should have delivered it and did not.
        public var missing: [String]?
        public var reliability: Double { expected == 0 ? 1 : Double(delivered) / Double(expected) }
    }

    /// The overlay at one snapshot.
    public struct OverlayFigures: Codable, Sendable {
        public var at: Double
        public var liveNodes: Int
        public var answered: Int
        public var components: Int
        public var largestComponentShare: Double
        /// Active-view entries of live nodes that name a node that is not up.
        public var deadEntries: Int
        public var activeMinimum: Int
        public var activeMean: Double
        public var activeMaximum: Int
        public var connected: Bool { components == 1 && answered == liveNodes }
        public var repaired: Bool { connected && deadEntries == 0 }
    }

    /// How long the overlay took to be whole again after a change (nil: not within the run).
    public struct Convergence: Codable, Sendable {
        public var label: String
        public var at: Double
        public var connectedAfter: Double?
        public var repairedAfter: Double?
    }

    public struct CheckResult: Codable, Sendable {
        public var check: String
        public var line: Int
        public var passed: Bool
        /// What was measured, in the check's own terms: "0.9981 (12 of 6400 deliveries missing)".
        public var measured: String
    }

    public var messages: [MessageFigures]
    /// Delivered share of all (message, expected node) pairs.
    public var reliability: Double
    public var duplicates: Int
    public var latencyP50: Double?
    public var latencyP99: Double?
    public var latencyMaximum: Double?
    public var overlay: [OverlayFigures]
    public var convergence: [Convergence]
    public var finalAveragePath: Double?
    public var finalClustering: Double?
    public var checks: [CheckResult]
    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// A node must deliver a message if it was up when the message was published and stayed up this long.
    public static let deliveryWindow: Duration = .seconds(5)

    public init(observation: RunObservation, checks: [Check]) {
        let evaluator = Evaluator(observation: observation)
        messages = evaluator.messageFigures(within: nil)
        let expected = messages.reduce(0) { $0 + $1.expected }
        let delivered = messages.reduce(0) { $0 + $1.delivered }
        reliability = expected == 0 ? 1 : Double(delivered) / Double(expected)
        duplicates = evaluator.duplicates
        let latencies = messages.compactMap(\.latencyToLast).sorted()
        latencyP50 = Self.percentile(latencies, 0.5)
        latencyP99 = Self.percentile(latencies, 0.99)
        latencyMaximum = latencies.last
        overlay = evaluator.overlayFigures
        convergence = evaluator.convergence(overlay)
        (finalAveragePath, finalClustering) = evaluator.finalGraphFigures()
        self.checks = []
        self.checks = checks.map { judge($0, evaluator: evaluator) }
    }

    /// The value at `share` (0...1) of sorted values, nearest rank.
    public static func percentile(_ sorted: [Double], _ share: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((share * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }

    private func judge(_ check: Check, evaluator: Evaluator) -> CheckResult {
        func result(_ passed: Bool, _ measured: String) -> CheckResult {
            CheckResult(check: check.text, line: check.line, passed: passed, measured: measured)
        }
        switch check.kind {
        case .reliability(let minimum, let scope):
            let counted: [MessageFigures]
            switch scope {
            case .all: counted = messages
            case .settled(let settle): counted = messages.filter { evaluator.isSettled(at: $0.publishedAt, after: settle) }
            case .deliveredWithin(let limit): counted = evaluator.messageFigures(within: limit)
            }
            let expected = counted.reduce(0) { $0 + $1.expected }
            let delivered = counted.reduce(0) { $0 + $1.delivered }
            guard expected > 0 else { return result(false, "no message counted: nothing was published when this check applies") }
            let share = Double(delivered) / Double(expected)
            return result(share >= minimum, "\(Self.format(share)) (\(expected - delivered) of \(expected) deliveries missing, \(counted.count) messages)")
        case .connected(let limit), .repaired(let limit):
            let wantsRepair: Bool = if case .repaired = check.kind { true } else { false }
            var worst: (label: String, after: Double?)?
            for item in convergence where check.onlyAfter.map({ item.label.split(separator: " ").first.map(String.init) == $0 }) ?? true {
                let after = wantsRepair ? item.repairedAfter : item.connectedAfter
                guard let after else { worst = (item.label, nil); break }
                if after > (worst?.after ?? -1) { worst = (item.label, after) }
            }
            guard let worst else {
                return result(false, check.onlyAfter.map { "no '\($0)' change in the run" } ?? "no change to measure after (no overlay snapshot)")
            }
            guard let after = worst.after else { return result(false, "never after '\(worst.label)' within the run") }
            return result(after <= limit.seconds, "slowest: \(Self.format(after)) s after '\(worst.label)'")
        case .duplicates(let maximum):
            return result(duplicates <= maximum, "\(duplicates)")
        case .latency(let percentile, let maximum):
            let latencies = messages.compactMap(\.latencyToLast).sorted()
            guard let value = Self.percentile(latencies, percentile) else { return result(false, "no message reached every node") }
            return result(value <= maximum.seconds, "\(Self.format(value * 1000)) ms over \(latencies.count) messages")
        case .averagePath(let maximum):
            guard let path = finalAveragePath else { return result(false, "no final snapshot") }
            return result(path <= maximum, Self.format(path))
        case .clustering(let maximum):
            guard let clustering = finalClustering else { return result(false, "no final snapshot") }
            return result(clustering <= maximum, Self.format(clustering))
        case .ipv4Sockets(let maximum):
            guard let counts = evaluator.observation.ipv4Sockets, !counts.isEmpty else {
                return result(false, "not counted: only a namespace mesh counts the sockets in each node's namespace")
            }
            let total = counts.values.reduce(0, +)
            let holders = counts.filter { $0.value > 0 }.keys.sorted().prefix(3).joined(separator: ", ")
            return result(total <= maximum, "\(total) over \(counts.count) nodes" + (holders.isEmpty ? "" : " (\(holders))"))
        case .falseFailures(let maximum):
            guard let failures = evaluator.observation.memberFailures else {
                return result(false, "not collected: the nodes' member events were not read")
            }
            let unexplained = evaluator.observation.falseFailures()
            let examples = unexplained.prefix(3).map { "\($0.member) by \($0.observer) at \(Self.format($0.at.seconds)) s" }.joined(separator: ", ")
            return result(unexplained.count <= maximum, "\(unexplained.count) false of \(failures.count) failures marked" + (examples.isEmpty ? "" : " (\(examples))"))
        }
    }

    /// A figure for people: whole numbers without decimals, others to four places.
    public static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: value, digits: 4)
    }
}

extension String {
    /// `value` with up to `digits` significant decimals, no trailing zeros.
    init(format value: Double, digits: Int) {
        var text = String((value * pow10(digits)).rounded() / pow10(digits))
        if text.hasSuffix(".0") { text.removeLast(2) }
        self = text
    }
}

private func pow10(_ digits: Int) -> Double { (0..<digits).reduce(1.0) { product, _ in product * 10 } }
