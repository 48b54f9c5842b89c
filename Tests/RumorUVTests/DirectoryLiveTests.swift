import Foundation
import Testing
import RumorCore
@testable import RumorUV

@Suite("Directory on loopback: /members, POST /tags, /member-events and the tags file", .serialized)
struct DirectoryLiveTests {
    /// The members a node's admin endpoint lists, by id: (status, tags).
    static func members(of node: TestNode, query: String = "") async throws -> [String: (status: String, tags: [String: String])] {
        let reply = try await AdminClient.request("GET", "/members" + query, to: node.endpoints.admin!)
        let object = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        var result: [String: (String, [String: String])] = [:]
        for member in object?["members"] as? [[String: Any]] ?? [] {
            result[member["id"] as? String ?? "?"] = (member["status"] as? String ?? "?", member["tags"] as? [String: String] ?? [:])
        }
        return result
    }

    @Test("three nodes list each other alive with their start tags; a tag set on one reaches the others; a node gone without a word is failed")
    func tagsSpreadAndFailure() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-tags-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tagsPath = directory.appendingPathComponent("tags.json").path
        let first = try await TestNode.start(id: "first") { $0.node.directory.tags = ["role": "seed"] }
        let second = try await TestNode.start(id: "second", seeds: [first.endpoints.listen]) { $0.tagsFile = tagsPath }
        let third = try await TestNode.start(id: "third", seeds: [first.endpoints.listen])
        #expect(await eventually { (try? await Self.members(of: third).count) == 3 })
        let listed = try await Self.members(of: third)
        #expect(listed["first"]?.status == "alive" && listed["first"]?.tags == ["role": "seed"])

        let set = try await AdminClient.request("POST", "/tags", to: second.endpoints.admin!, body: Array(#"{"set": {"zone": "eu west"}}"#.utf8))
        #expect(set.status == 200 && set.text.contains("\"version\":2"), "\(set.status) \(set.text)")
        #expect(await eventually { (try? await Self.members(of: first))?["second"]?.tags == ["zone": "eu west"] })
        // Filters: a tag with a space, percent-encoded in the query; a status.
        #expect(try await Self.members(of: first, query: "?tag=zone%3Deu%20west").keys.sorted() == ["second"])
        #expect(try await Self.members(of: first, query: "?status=failed").isEmpty)
        // The change is kept for the next start.
        #expect(try TagsFile.load(tagsPath) == ["zone": "eu west"])

        let events = try await AdminClient.request("GET", "/member-events?after=0", to: first.endpoints.admin!)
        let lines = events.text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.contains { $0["event"] as? String == "updated" && $0["id"] as? String == "second" && ($0["applied_ns"] as? Int ?? 0) > 0 })

        // Gone without a leave: its loop stops and its sockets close under it.
        await third.runtime.eventLoop.submit { third.runtime.closeEverything() }
        third.eventLoop.shutdown()
        let thirdFailed = await eventually { (try? await Self.members(of: first))?["third"]?.status == "failed" }
        let seenByFirst = try await Self.members(of: first)
        #expect(thirdFailed, "\(seenByFirst)")
        await second.shutdown()
        #expect(await eventually { (try? await Self.members(of: first))?["second"]?.status == "left" })
        await first.shutdown()
    }

    @Test("POST /tags answers malformed bodies with 400 and tags over a limit with 413, naming the problem, and keeps the tags it had")
    func badTagBodies() async throws {
        let node = try await TestNode.start(id: "lonely") { $0.node.directory.tags = ["keep": "me"] }
        let cases: [(String, Int, String)] = [
            ("{\"set\": 5}", 400, "set must be an object of string values"),
            ("{\"set\": {\"a\": 1}}", 400, "set: the value of \"a\" must be a string"),
            ("{\"delete\": \"a\"}", 400, "delete must be an array of tag keys"),
            ("{\"put\": {}}", 400, "unknown field \"put\""),
            ("{\"set\": {\"a\": \"b\"", 400, "invalid JSON at byte 17: the object is not closed"),
            ("[1, 2]", 400, "must be a JSON object"),
            ("{\"set\": {\"a\": \"1\"}, \"delete\": [\"a\"]}", 400, "both set and deleted"),
            ("{\"set\": {\"big\": \"\(String(repeating: "x", count: 1100))\"}}", 413, "takes 1100 bytes, more than 1024"),
            ("{\"set\": {\"\": \"x\"}}", 413, "a tag key is empty"),
        ]
        for (body, status, words) in cases {
            let reply = try await AdminClient.request("POST", "/tags", to: node.endpoints.admin!, body: Array(body.utf8))
            #expect(reply.status == status && reply.text.contains(words), "\(body.prefix(60)): \(reply.status) \(reply.text)")
        }
        let bogus = try await AdminClient.request("GET", "/members?status=zombie", to: node.endpoints.admin!)
        #expect(bogus.status == 400 && bogus.text.contains("status must be one of alive, suspect, failed, left"))
        #expect(try await Self.members(of: node)["lonely"]?.tags == ["keep": "me"])
        await node.shutdown()
    }
}

@Suite("JSON parser and tags file")
struct JSONParserTests {
    @Test("documents parse to the values they spell, escapes and surrogate pairs included")
    func parses() throws {
        let document = try JSONParser.parse(Array(#" {"a": [1, -2.5e1, true, null], "s": "x\"\\\n\u00e9\ud83d\ude00", "o": {}} "#.utf8))
        #expect(document == .object([("a", .array([.int(1), .double(-25), .bool(true), .null])), ("s", .string("x\"\\\né😀")), ("o", .object([]))]))
    }

    @Test("broken documents are errors naming the byte and the problem", arguments: [
        ("", "invalid JSON at byte 0: the document ends where a value was expected"),
        ("{\"a\" 1}", "invalid JSON at byte 5: expected ':' after a key"),
        ("[1,]", "invalid JSON at byte 3: unexpected character ']'"),
        ("01", "invalid JSON at byte 0: a number with a leading zero"),
        ("\"\\ud800\"", "invalid JSON at byte 7: a lone high surrogate"),
        ("\"a\u{1}\"", "invalid JSON at byte 2: a control character inside a string"),
        ("{} x", "invalid JSON at byte 3: unexpected text after the value"),
        (String(repeating: "[", count: 40), "invalid JSON at byte 33: nested deeper than 32"),
    ])
    func refuses(_ text: String, _ message: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array(text.utf8)) }
        do { _ = try JSONParser.parse(Array(text.utf8)) } catch { #expect(error.description == message) }
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        #expect(throws: JSONParser.Failure(offset: 1, problem: "a string is not valid UTF-8")) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
    }

    @Test("a tags file round-trips, a missing one is nil, and one that is not an object of strings is a clear error")
    func tagsFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-tagsfile-\(getpid()).json").path
        defer { unlink(path) }
        #expect(try TagsFile.load(path) == nil)
        try TagsFile.save(["zone": "eu\nwest", "role": "db"], to: path)
        #expect(try TagsFile.load(path) == ["zone": "eu\nwest", "role": "db"])
        try Data("{\"a\": 1}".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: TagsFile.Problem.self) { try TagsFile.load(path) }
    }
}
