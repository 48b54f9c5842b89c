import RumorCore

/// A property a run must have, written in the topology file as one line of text. The grammar:
///
///     reliability >= 0.99 [after 5s | within 2s]   share of (message, live node) pairs delivered
///     connected within 3s [after thaw]             one component over the live nodes after every change
///                                                  (or only after the changes of one kind)
///     repaired within 5s [after freeze]            ... and no active view names a dead node
///     duplicates <= 0                              deliveries of a message a node already had
///     latency p99 <= 200ms                         publish to the last live receiver (p50, p90, p99, max)
///     path <= 3.5                                  average shortest path of the final overlay
///     clustering <= 0.3                            clustering coefficient of the final overlay
///     ipv4 sockets == 0                            IPv4 sockets in the nodes' namespaces at the end
///                                                  (namespace meshes: an IPv6-only run has none)
///     false failures == 0                          members marked failed in the directory while their
///                                                  process had been running and unfrozen for 10 s
public struct Check: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case reliability(minimum: Double, scope: ReliabilityScope)
        case connected(within: Duration)
        case repaired(within: Duration)
        case duplicates(maximum: Int)
        case latency(percentile: Double, maximum: Duration)
        case averagePath(maximum: Double)
        case clustering(maximum: Double)
        case ipv4Sockets(maximum: Int)
        case falseFailures(maximum: Int)
    }

    /// Which messages a reliability check counts.
    public enum ReliabilityScope: Hashable, Sendable {
        /// Every message, delivered by the end of the run.
        case all
        /// Messages published at least this long after the latest churn event (the overlay had time to settle).
        case settled(after: Duration)
        /// Every message, but a delivery counts only if it came within this long of the publish.
        case deliveredWithin(Duration)
    }

    public var kind: Kind
    public var text: String
    public var line: Int
    /// For `connected` and `repaired`: only the changes of this kind count (`thaw`, `kill`, ...), the first
    /// word of their label.
    public var onlyAfter: String?

    public var description: String { text }

    public static func parse(_ text: String, line: Int = 0) throws(CheckParseError) -> Check {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        func fail(_ expected: String) -> CheckParseError { CheckParseError(text: text, expected: expected) }
        func number(_ word: String, _ what: String) throws(CheckParseError) -> Double {
            guard let value = Double(word), value.isFinite, value >= 0 else { throw fail("\(what), not '\(word)'") }
            return value
        }
        func duration(_ word: String) throws(CheckParseError) -> Duration {
            guard let value = DurationText.parse(word) else { throw fail("a duration such as 5s or 250ms, not '\(word)'") }
            return value
        }
        func comparison(_ index: Int, _ allowed: Set<String>) throws(CheckParseError) {
            guard words.count > index, allowed.contains(words[index]) else {
                throw fail("'\(allowed.sorted().joined(separator: "' or '"))' after '\(words[index - 1])'")
            }
        }
        guard let metric = words.first else { throw fail("a check such as 'reliability >= 1.0 after 5s'") }
        let kind: Kind
        var onlyAfter: String?
        switch metric {
        case "reliability":
            try comparison(1, [">="])
            guard words.count >= 3 else { throw fail("a share from 0 to 1 after '>='") }
            let minimum = try number(words[2], "a share from 0 to 1")
            guard minimum <= 1 else { throw fail("a share from 0 to 1, not \(words[2])") }
            switch words.count {
            case 3: kind = .reliability(minimum: minimum, scope: .all)
            case 5 where words[3] == "after": kind = .reliability(minimum: minimum, scope: .settled(after: try duration(words[4])))
            case 5 where words[3] == "within": kind = .reliability(minimum: minimum, scope: .deliveredWithin(try duration(words[4])))
            default: throw fail("nothing, 'after DURATION' or 'within DURATION' after the share")
            }
        case "connected", "repaired":
            let changeKinds = ["start", "kill", "restart", "add", "replace", "upgrade", "freeze", "thaw", "heal", "slow",
                               "cut", "rate", "seed", "move"]
            guard words.count == 3 || words.count == 5, words[1] == "within" else {
                throw fail("'\(metric) within DURATION', optionally followed by 'after' and a kind of change")
            }
            if words.count == 5 {
                guard words[3] == "after", changeKinds.contains(words[4]) else {
                    throw fail("'after' and one of \(changeKinds.joined(separator: ", ")) after the duration")
                }
                onlyAfter = words[4]
            }
            let limit = try duration(words[2])
            kind = metric == "connected" ? .connected(within: limit) : .repaired(within: limit)
        case "duplicates":
            try comparison(1, ["<=", "=="])
            guard words.count == 3, let maximum = Int(words[2]), maximum >= 0 else { throw fail("a whole number after '\(words[1])'") }
            kind = .duplicates(maximum: maximum)
        case "latency":
            let percentiles = ["p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0]
            guard words.count == 4, let percentile = percentiles[words[1]] else { throw fail("'latency p50|p90|p99|max <= DURATION'") }
            try comparison(2, ["<="])
            kind = .latency(percentile: percentile, maximum: try duration(words[3]))
        case "path", "clustering":
            try comparison(1, ["<="])
            guard words.count == 3 else { throw fail("a number after '<='") }
            let maximum = try number(words[2], "a number")
            kind = metric == "path" ? .averagePath(maximum: maximum) : .clustering(maximum: maximum)
        case "ipv4":
            guard words.count == 4, words[1] == "sockets" else { throw fail("'ipv4 sockets == 0'") }
            try comparison(2, ["<=", "=="])
            guard let maximum = Int(words[3]), maximum >= 0 else { throw fail("a whole number after '\(words[2])'") }
            kind = .ipv4Sockets(maximum: maximum)
        case "false":
            guard words.count == 4, words[1] == "failures" else { throw fail("'false failures == 0'") }
            try comparison(2, ["<=", "=="])
            guard let maximum = Int(words[3]), maximum >= 0 else { throw fail("a whole number after '\(words[2])'") }
            kind = .falseFailures(maximum: maximum)
        default:
            throw fail("a check starting with reliability, connected, repaired, duplicates, latency, path, clustering, ipv4 or false, not '\(metric)'")
        }
        return Check(kind: kind, text: words.joined(separator: " "), line: line, onlyAfter: onlyAfter)
    }
}

public struct CheckParseError: Error, CustomStringConvertible, Sendable {
    public var text: String
    public var expected: String
    public var description: String { "cannot read the check '\(text)': expected \(expected)" }
}
