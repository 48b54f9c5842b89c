import ArgumentParser
import Foundation
import RumorCommandLine
import RumorCore
import RumorUV

/// `rumor members`: the cluster's member list as one node sees it, in Serf's columns.
struct MembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members",
        abstract: "List the cluster's members as a node's directory holds them: id, address, status, tags."
    )

    @Argument(help: "The node's admin address (HOST:PORT).")
    var admin: PeerAddress

    @Option(help: ArgumentHelp("Only members of this status: alive, suspect, failed or left.", valueName: "status"))
    var status: String?

    @Option(help: ArgumentHelp("Only members with this tag (KEY=VALUE).", valueName: "key=value"))
    var tag: String?

    @Flag(help: "Print the list as JSON, as the endpoint returns it.")
    var json = false

    func validate() throws {
        do { _ = try MemberFilter(status: status, tag: tag) } catch { throw ValidationError("\(error)") }
    }

    func run() async throws {
        var query: [String] = []
        if let status { query.append("status=\(Self.escaped(status))") }
        if let tag { query.append("tag=\(Self.escaped(tag))") }
        let reply = try await askNode("members", "GET", "/members" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), at: admin)
        if json {
            print(reply.text, terminator: reply.text.hasSuffix("\n") ? "" : "\n")
            return
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any],
              let members = object["members"] as? [[String: Any]] else {
            throw ValidationError("the node's member list is not the JSON expected: \(reply.text)")
        }
        print(Self.table(members))
    }

    /// Serf's `members` layout: name, address, status, then the tags as k=v,k=v.
    static func table(_ members: [[String: Any]]) -> String {
        let rows = members.map { member -> [String] in
            let tags = (member["tags"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return ["\(member["id"] ?? "?")", "\(member["address"] ?? "?")", "\(member["status"] ?? "?")", tags.joined(separator: ",")]
        }
        guard !rows.isEmpty else { return "no members" }
        let widths = (0..<3).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            (0..<3).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[3]
        }.joined(separator: "\n")
    }

    static func escaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

/// `rumor tags`: sets and deletes the tags of a node's own directory entry at run time.
struct TagsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tags",
        abstract: "Set or delete tags of a node's own directory entry; the change reaches every member in milliseconds."
    )

    @Argument(help: "The node's admin address (HOST:PORT).")
    var admin: PeerAddress

    @Option(help: ArgumentHelp("A tag to set (KEY=VALUE); may be repeated.", valueName: "key=value"))
    var set: [String] = []

    @Option(help: ArgumentHelp("A tag key to delete; may be repeated.", valueName: "key"))
    var delete: [String] = []

    func validate() throws {
        guard !set.isEmpty || !delete.isEmpty else { throw ValidationError("give --set KEY=VALUE or --delete KEY (or both)") }
        for option in set where TagText.split(option) == nil {
            throw ValidationError("--set must be KEY=VALUE with a key, got '\(option)'")
        }
        if let empty = delete.first(where: \.isEmpty) { throw ValidationError("--delete needs a key, got '\(empty)'") }
    }

    func run() async throws {
        let tags = set.compactMap(TagText.split).map { ($0.key, JSONValue.string($0.value)) }
        let body = JSONValue.object([("set", .object(tags)), ("delete", .array(delete.map { .string($0) }))]).serialized()
        let reply = try await askNode("tags", "POST", "/tags", at: admin, body: Array(body.utf8))
        print(reply.text, terminator: reply.text.hasSuffix("\n") ? "" : "\n")
    }
}
