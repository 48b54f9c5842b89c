import ArgumentParser
import RumorCommandLine
import RumorCore
import RumorUV

@main
struct RumorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rumor",
        abstract: "A peer-sampling overlay node (HyParView) with tree broadcast (Plumtree), on libuv.",
        version: "rumor \(RumorRelease.summary)",
        subcommands: [NodeCommand.self, KeygenCommand.self, StatusCommand.self, MembersCommand.self, TagsCommand.self, PublishCommand.self, TailCommand.self, MeshCommand.self, ChurnCommand.self,
                      SimCommand.self, BenchCommand.self]
    )
}

/// Asks a node's admin endpoint and insists on 200: anything else is the command's failure, named after
/// the command, with what the node said.
func askNode(_ command: String, _ method: String, _ path: String, at admin: PeerAddress, body: [UInt8] = []) async throws -> AdminClient.Reply {
    let reply: AdminClient.Reply
    do {
        reply = try await AdminClient.request(method, path, to: admin, body: body)
    } catch {
        throw CommandFailure("rumor \(command): \(error)")
    }
    guard reply.status == 200 else { throw CommandFailure("rumor \(command): the node answered \(reply.status): \(reply.text)") }
    return reply
}
