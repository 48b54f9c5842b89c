import ArgumentParser
import RumorCommandLine
import Foundation
import RumorCore
import RumorUV

struct PublishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Broadcast a message through a node: TEXT, --file FILE, or standard input."
    )

    @Argument(help: "The node's admin address (HOST:PORT).")
    var admin: PeerAddress

    @Argument(help: "The message text; omit it to use --file or standard input.")
    var text: String?

    @Option(help: "Read the payload from this file.")
    var file: String?

    func validate() throws {
        if text != nil, file != nil { throw ValidationError("give the message as TEXT or --file, not both") }
    }

    func run() async throws {
        let payload: [UInt8]
        if let text {
            payload = Array(text.utf8)
        } else if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure("cannot read \(file)") }
            payload = [UInt8](data)
        } else {
            payload = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        }
        let reply = try await askNode("publish", "POST", "/publish", at: admin, body: payload)
        print(reply.text, terminator: reply.text.hasSuffix("\n") ? "" : "\n")
    }
}

struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print a node's deliveries as they arrive (Ctrl-C to stop)."
    )

    @Argument(help: "The node's admin address (HOST:PORT).")
    var admin: PeerAddress

    @Option(help: "Start after this delivery number (0 prints everything still kept).")
    var after: UInt64?

    @Flag(help: "Print each delivery as the JSON line the node returns.")
    var json = false

    @Flag(help: "Print what the node holds now and exit instead of following.")
    var once = false

    func run() async throws {
        var last = after ?? UInt64.max
        if after == nil {
            // Only what arrives from now on: skip to the newest delivery.
            last = try await fetch(after: 0).last.flatMap { ($0["seq"] as? Int).map(UInt64.init) } ?? 0
        }
        while !Task.isCancelled {
            for (object, line) in try await fetchLines(after: last) {
                if let sequence = object["seq"] as? Int { last = UInt64(sequence) }
                // Written straight out, even into a pipe: a follower wants each delivery as it comes.
                FileHandle.standardOutput.write(Data(((json ? line : Self.describe(object)) + "\n").utf8))
            }
            if once { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func fetch(after: UInt64) async throws -> [[String: Any]] {
        try await fetchLines(after: after).map(\.0)
    }

    private func fetchLines(after: UInt64) async throws -> [([String: Any], String)] {
        let reply = try await askNode("tail", "GET", "/deliveries?after=\(after)", at: admin)
        return reply.text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object, String(line))
        }
    }

    static func describe(_ object: [String: Any]) -> String {
        let payload = (object["payload"] as? String).flatMap { Data(base64Encoded: $0) } ?? Data()
        let text = String(data: payload, encoding: .utf8).map { "\"\($0)\"" } ?? "\(payload.count) bytes (binary)"
        return "#\(object["seq"] ?? "?") \(object["id"] ?? "?") round \(object["round"] ?? "?"): \(text)"
    }
}
