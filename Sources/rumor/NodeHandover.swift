import ArgumentParser
import RumorCommandLine
import RumorMesh

#if canImport(Glibc)
import Glibc
#endif

/// `rumor node` runs the node as the separate `rumor-node` executable, built beside this one: it carries
/// only the core, the runtime and the cluster key's crypto, so a node costs a few MiB of memory where this
/// tool (simulator, mesh launcher, Foundation, YAML) would cost twenty.
struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run a node until SIGINT or SIGTERM, then leave the overlay politely (`rumor node --help` for its options).",
        discussion: "Hands over to the rumor-node executable beside this one, with the same arguments."
    )

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("rumor-node's arguments.", valueName: "arguments"))
    var arguments: [String] = []

    func run() throws {
        let executable: String
        do { executable = try NodeExecutable.locate(beside: MeshLaunch.executable) } catch { throw CommandFailure("rumor node: \(error)") }
        // execv replaces this process, so the node keeps the pid its launcher knows and nothing of this tool.
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        execv(executable, argv)
        let reason = String(cString: strerror(errno))
        for pointer in argv { free(pointer) }
        throw CommandFailure("rumor node: cannot run \(executable): \(reason)")
    }
}
