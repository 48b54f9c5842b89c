import RumorCore

/// The admin endpoint's directory routes (docs/directory.md, "Surface"): the member list, tags, and member
/// events, answered on the loop thread.
enum DirectoryRoutes {
    /// `GET /members?status=S&tag=k=v`: every member this node knows of, as JSON, in id order.
    static func members(_ query: [String: String], runtime: NodeRuntime) -> HTTPResponse {
        let filter: MemberFilter
        do throws(MemberFilter.Problem) {
            filter = try MemberFilter(status: query["status"], tag: query["tag"])
        } catch {
            return .text(error.description, status: 400)
        }
        let clock = ClockPair(runtime: runtime)
        let members = runtime.membersOnLoop().filter(filter.admits)
        return .json(.object([("members", .array(members.map { memberJSON($0, clock: clock) }))]))
    }

    static func memberJSON(_ member: Member, clock: ClockPair) -> JSONValue {
        let entry = member.entry
        return .object([
            ("id", .string(entry.id.rawValue)),
            ("address", .string(entry.peer.address.description)),
            ("status", .string(member.statusName)),
            ("epoch", .int(Int64(clamping: entry.epoch))),
            ("version", .int(Int64(clamping: entry.version))),
            ("tags", .object(entry.tags.pairs.map { ($0.key, .string($0.value)) })),
            ("last_seen_ns", .int(clock.wallNanoseconds(at: member.lastSeen))),
            ("since_ns", .int(clock.wallNanoseconds(at: member.since))),
        ])
    }

    /// `POST /tags` with `{"set": {"k": "v"}, "delete": ["k"]}`: changes this node's tags; answers with its
    /// entry's new version.
    static func updateTags(_ body: [UInt8], runtime: NodeRuntime) -> HTTPResponse {
        let change: TagChange
        do throws(TagChange.Problem) {
            change = try TagChange(json: body)
        } catch {
            return .text(error.description, status: 400)
        }
        switch runtime.setTagsOnLoop(change.set, deleting: change.delete) {
        case .success:
            let version = runtime.ownEntryOnLoop()?.version ?? 0
            return .json(.object([("version", .int(Int64(clamping: version)))]))
        case .failure(let error):
            if case .stopping = error { return .text(error.description, status: 503) }
            return .text(error.description, status: 413)
        }
    }

    /// `GET /member-events?after=N`: recorded member events as JSON lines, with the wall-clock time each
    /// was applied here.
    static func memberEvents(_ query: [String: String], runtime: NodeRuntime) -> HTTPResponse {
        guard let after = UInt64(query["after"] ?? "0") else {
            return .text("after must be an event number (0 for all)", status: 400)
        }
        let limit = Int(query["limit"] ?? "10000") ?? 10_000
        let lines = runtime.memberEvents.after(after, limit: max(1, min(limit, 100_000))).map { recorded in
            let entry = recorded.event.entry
            return JSONValue.object([
                ("seq", .int(Int64(recorded.sequence))),
                ("event", .string(recorded.event.kind.rawValue)),
                ("id", .string(entry.id.rawValue)),
                ("address", .string(entry.peer.address.description)),
                ("status", .string(entry.status.description)),
                ("epoch", .int(Int64(clamping: entry.epoch))),
                ("version", .int(Int64(clamping: entry.version))),
                ("tags", .object(entry.tags.pairs.map { ($0.key, .string($0.value)) })),
                ("applied_ns", .int(Int64(clamping: recorded.appliedNanoseconds))),
            ]).serialized() + "\n"
        }.joined()
        return HTTPResponse(status: 200, contentType: "application/x-ndjson", body: Array(lines.utf8))
    }
}

/// The loop's monotonic time beside the wall clock, read together: a core timestamp becomes wall-clock
/// nanoseconds.
struct ClockPair {
    let loopNow: Timestamp
    let wallNow: UInt64

    init(runtime: NodeRuntime) {
        loopNow = runtime.now
        wallNow = WallClock.nanoseconds()
    }

    func wallNanoseconds(at time: Timestamp) -> Int64 {
        Int64(clamping: wallNow) - loopNow.since(time).nanosecondsRounded
    }
}

/// Which members a listing keeps: by status name, and by one tag.
public struct MemberFilter: Sendable {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public static let statusNames = ["alive", "suspect", "failed", "left"]
    public var status: String?
    public var tag: (key: String, value: String)?

    public init(status: String?, tag: String?) throws(Problem) {
        if let status, !Self.statusNames.contains(status) {
            throw Problem(description: "status must be one of \(Self.statusNames.joined(separator: ", ")), not \"\(status)\"")
        }
        self.status = status
        if let tag {
            guard let split = TagText.split(tag) else { throw Problem(description: "tag must be KEY=VALUE, not \"\(tag)\"") }
            self.tag = split
        }
    }

    public func admits(_ member: Member) -> Bool {
        if let status, member.statusName != status { return false }
        if let tag, member.entry.tags[tag.key] != tag.value { return false }
        return true
    }
}

/// A `POST /tags` body: `{"set": {"k": "v", ...}, "delete": ["k", ...]}`, either part optional.
struct TagChange {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    var set: [String: String] = [:]
    var delete: [String] = []

    init(json body: [UInt8]) throws(Problem) {
        let document: JSONValue
        do throws(JSONParser.Failure) {
            document = try JSONParser.parse(body)
        } catch {
            throw Problem(description: "the body is not JSON: \(error)")
        }
        guard case .object(let members) = document else { throw Problem(description: "the body must be a JSON object with \"set\" and/or \"delete\"") }
        for (key, value) in members {
            switch (key, value) {
            case ("set", .object(let tags)):
                for (tag, tagValue) in tags {
                    guard case .string(let text) = tagValue else { throw Problem(description: "set: the value of \"\(tag)\" must be a string") }
                    set[tag] = text
                }
            case ("delete", .array(let keys)):
                for element in keys {
                    guard case .string(let tag) = element else { throw Problem(description: "delete: every element must be a tag key (a string)") }
                    delete.append(tag)
                }
            case ("set", _):
                throw Problem(description: "set must be an object of string values")
            case ("delete", _):
                throw Problem(description: "delete must be an array of tag keys")
            default:
                throw Problem(description: "unknown field \"\(key)\" (expected \"set\" and/or \"delete\")")
            }
        }
        if let both = delete.first(where: { set[$0] != nil }) {
            throw Problem(description: "tag \"\(both)\" is both set and deleted")
        }
    }
}

/// A tag as written on a command line or in a query: KEY=VALUE, split at the first '=', the key not empty
/// (the value may hold anything, '=' included).
public enum TagText {
    public static func split(_ text: String) -> (key: String, value: String)? {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { return nil }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }
}
