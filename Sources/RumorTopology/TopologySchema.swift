import Yams

/// The keys each mapping of a topology file may have, so that a misspelt key (`shedule:`) is an error
/// naming its line instead of a section silently ignored.
enum TopologySchema {
    private static let top: Set<String> = ["name", "description", "seed", "network", "nodes", "seeds", "links", "workload", "schedule", "duration", "checks"]
    private static let nodePattern: Set<String> = ["count", "address", "admin", "id", "wire-versions"]
    private static let listedNode: Set<String> = ["id", "address", "admin", "seeds", "wire-versions"]
    private static let seedRule: Set<String> = ["rule", "k", "name"]
    private static let network: Set<String> = ["kind", "family"]
    private static let cut: Set<String> = ["from", "to"]
    private static let rate: Set<String> = ["nodes", "limit"]
    private static let links: Set<String> = ["latency", "jitter", "loss"]
    private static let workload: Set<String> = ["publishers", "rate", "payload", "start", "stop"]
    private static let scheduleEntry: Set<String> = ["at", "every", "until", "kill", "restart", "add", "replace", "upgrade", "freeze", "thaw", "partition", "heal", "slow", "cut", "rate", "dns", "move"]
    private static let slow: Set<String> = ["nodes", "link", "latency", "jitter", "loss"]

    static func unknownKey(in root: Yams.Node) -> ResolveProblem? {
        guard let mapping = root.mapping else {
            return ResolveProblem(position: position(root), message: "expected a mapping with nodes, duration and the rest at the top level")
        }
        if let problem = check(mapping, allowed: top, section: "the top level") { return problem }
        if let nodes = mapping["nodes"] {
            if let pattern = nodes.mapping, let problem = check(pattern, allowed: nodePattern, section: "nodes") { return problem }
            for node in nodes.sequence ?? [] {
                if let listed = node.mapping, let problem = check(listed, allowed: listedNode, section: "a listed node") { return problem }
            }
        }
        if let rule = mapping["seeds"]?.mapping, let problem = check(rule, allowed: seedRule, section: "seeds") { return problem }
        if let section = mapping["network"]?.mapping, let problem = check(section, allowed: network, section: "network") { return problem }
        if let section = mapping["links"]?.mapping, let problem = check(section, allowed: links, section: "links") { return problem }
        if let section = mapping["workload"]?.mapping, let problem = check(section, allowed: workload, section: "workload") { return problem }
        for entry in mapping["schedule"]?.sequence ?? [] {
            guard let entryMapping = entry.mapping else { continue }
            if let problem = check(entryMapping, allowed: scheduleEntry, section: "a schedule entry") { return problem }
            if let slowMapping = entryMapping["slow"]?.mapping, let problem = check(slowMapping, allowed: slow, section: "slow") { return problem }
            if let cutMapping = entryMapping["cut"]?.mapping, let problem = check(cutMapping, allowed: cut, section: "cut") { return problem }
            if let rateMapping = entryMapping["rate"]?.mapping, let problem = check(rateMapping, allowed: rate, section: "rate") { return problem }
        }
        return nil
    }

    private static func check(_ mapping: Yams.Node.Mapping, allowed: Set<String>, section: String) -> ResolveProblem? {
        for (key, _) in mapping {
            guard let name = key.string else {
                return ResolveProblem(position: position(key), message: "keys in \(section) must be plain words")
            }
            if !allowed.contains(name) {
                let expected = allowed.sorted().joined(separator: ", ")
                return ResolveProblem(position: position(key), message: "unknown key '\(name)' in \(section) (expected one of: \(expected))")
            }
        }
        return nil
    }

    private static func position(_ node: Yams.Node) -> SourcePosition {
        node.mark.map { SourcePosition(line: $0.line, column: $0.column) } ?? .unknown
    }
}
