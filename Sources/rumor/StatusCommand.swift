import ArgumentParser
import RumorCommandLine
import Foundation
import RumorCore
import RumorUV

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a node's status from its admin endpoint."
    )

    @Argument(help: "The node's admin address (HOST:PORT).")
    var admin: PeerAddress

    @Flag(help: "Print the status as JSON, as the endpoint returns it.")
    var json = false

    func run() async throws {
        let reply = try await askNode("status", "GET", "/status", at: admin)
        if json {
            print(reply.text, terminator: reply.text.hasSuffix("\n") ? "" : "\n")
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any] else {
            throw ValidationError("the node's status is not a JSON object: \(reply.text)")
        }
        print(StatusReport(object).render())
    }
}

/// A node's status as a person reads it.
struct StatusReport {
    let object: [String: Any]

    init(_ object: [String: Any]) { self.object = object }

    func render() -> String {
        var lines: [String] = []
        let uptime = (object["uptime_s"] as? Double).map { String(format: "%.1f s", $0) } ?? "?"
        lines.append("node \(object["id"] ?? "?") at \(object["listen"] ?? "?"), epoch \(object["epoch"] ?? "?"), up \(uptime)")
        if let release = object["release"] as? String {
            let wire = object["wire_versions"] as? [Int] ?? []
            let versions = wire.count > 1 ? "wire protocols \(wire.first!)-\(wire.last!)" : "wire protocol \(wire.first.map(String.init) ?? "?")"
            lines.append("release \(release), \(versions)")
        }
        let active = object["active"] as? [[String: Any]] ?? []
        lines.append("active view (\(active.count)):")
        for peer in active {
            lines.append("  \(pad(peer["id"], 16)) \(pad(peer["address"], 22)) heard \(peer["last_heard_ms"] ?? "?") ms ago")
        }
        let passive = object["passive"] as? [[String: Any]] ?? []
        lines.append("passive view (\(passive.count)):")
        for peer in passive {
            lines.append("  \(pad(peer["id"], 16)) \(pad(peer["address"], 22)) age \(peer["age"] ?? "?")")
        }
        if let eager = object["eager"] as? [String], let lazy = object["lazy"] as? [String] {
            lines.append("broadcast tree: eager \(eager.joined(separator: ", ")); lazy \(lazy.joined(separator: ", "))")
        }
        if let counters = object["counters"] as? [String: Any], !counters.isEmpty {
            // Only what has happened: a person scans for the non-zero ones anyway.
            let nonZero = counters.keys.sorted().filter { (counters[$0] as? Int) != 0 }
            lines.append("counters (\(counters.count - nonZero.count) others are 0):")
            for key in nonZero { lines.append("  \(pad(key, 24)) \(counters[key] ?? "")") }
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ value: Any?, _ width: Int) -> String {
        let text = value.map { "\($0)" } ?? "?"
        return text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
