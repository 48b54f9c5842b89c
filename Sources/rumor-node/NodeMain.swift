import ArgumentParser
import FoundationEssentials
import RumorCommandLine

#if canImport(Glibc)
import Glibc
#endif

/// rumor-node's entry point: the command line over `RUMOR_<OPTION>` variables over the `--config` file
/// over the defaults, parsed as one argument list by `NodeCommand`. Any error stops it with status 1 and
/// one line naming what was wrong and where it was set.
@main
enum NodeMain {
    /// Variables a delivery handler (`--exec`) is given, which a node started from one must not take as options.
    static let handlerVariables: Set<String> = ["RUMOR_ORIGIN", "RUMOR_ROUND", "RUMOR_SEQ"]

    static func main() async {
        let commandLine = Array(CommandLine.arguments.dropFirst())
        let environment = ProcessInfo.processInfo.environment
        func layered() -> LayeredConfiguration {
            do {
                return try LayeredConfiguration(
                    commandLine: commandLine, environment: environment,
                    options: DeclaredOption.declared(by: NodeCommand.self, excluding: NodeCommand.notLayered),
                    reserved: handlerVariables, readFile: readFile)
            } catch {
                fail(error.description)
            }
        }
        // The options' declarations come from ArgumentParser's help dump decoded from JSON, which keeps
        // about 1.5 MiB more resident for the node's whole life: read them only when a file, a RUMOR_
        // variable or --print-config needs them (docs/benchmarks.md, "rumor-node size").
        let needsLayers = LayeredConfiguration.hasLowerLayers(commandLine: commandLine, environment: environment, reserved: handlerVariables)
            || commandLine.contains("--print-config")
        let layers = needsLayers ? layered() : nil
        let command: NodeCommand
        do {
            var parsed = try NodeCommand.parseAsRoot(layers?.arguments ?? commandLine)
            guard let node = parsed as? NodeCommand else {
                // --help and its kin parse as commands of their own.
                try parsed.run()
                return
            }
            command = node
        } catch {
            if NodeCommand.exitCode(for: error) == .success { NodeCommand.exit(withError: error) }
            fail(explained(NodeCommand.message(for: error), layers: layers ?? layered()))
        }
        if command.printConfig {
            print((layers ?? layered()).description)
            return
        }
        do {
            try await command.run(unknownVariables: layers?.unknownVariables ?? [])
        } catch {
            fail(explained(NodeCommand.message(for: error), layers: layers ?? layered()))
        }
    }

    /// The parser's message, with where the value was set and, for a value it could not read, the form it takes.
    static func explained(_ message: String, layers: LayeredConfiguration) -> String {
        var message = layers.locate(message)
        if message.contains("is invalid for '--"), let form = layers.expectedForm(in: message) {
            message += "; expected \(form)"
        }
        return message
    }

    /// Reads a configuration file, or says why not the way the system does.
    static func readFile(_ path: String) throws -> String {
        guard access(path, R_OK) == 0 else { throw CommandFailure(String(cString: strerror(errno))) }
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    /// One line on standard error, exit status 1.
    static func fail(_ message: String) -> Never {
        var line = "Error: \(message)"
        if !line.hasSuffix("\n") { line += "\n" }
        _ = line.utf8CString.withUnsafeBufferPointer { write(STDERR_FILENO, $0.baseAddress, $0.count - 1) }
        Glibc.exit(1)
    }
}
