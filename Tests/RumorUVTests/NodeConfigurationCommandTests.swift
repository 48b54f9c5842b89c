import Foundation
import Testing

/// rumor-node's configuration file and RUMOR_ variables, as an operator uses them: every option of
/// `--help` can be set through either, and `--print-config` says where each value came from.
@Suite("rumor-node configuration", .serialized)
struct NodeConfigurationCommandTests {
    func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try RumorBinary.run(arguments, executable: RumorBinary.nodeURL, environment: ["PATH": "/usr/bin:/bin"].merging(environment) { $1 })
    }

    struct Option { var name: String; var isFlag: Bool; var defaultValue: String? }

    /// The options `--help` shows, from the parser's own description of the command.
    func displayedOptions() throws -> [Option] {
        let dump = try run(["--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.output.utf8)) as? [String: Any])
        let arguments = try #require((root["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
        return arguments.compactMap { argument in
            guard argument["shouldDisplay"] as? Bool ?? true,
                  let long = (argument["names"] as? [[String: Any]])?.first(where: { $0["kind"] as? String == "long" })?["name"] as? String,
                  !["help", "version", "config", "print-config"].contains(long) else { return nil }
            return Option(name: long, isFlag: argument["kind"] as? String == "flag", defaultValue: argument["defaultValue"] as? String)
        }
    }

    /// A value each option accepts: its default where it has one, otherwise one that passes validation.
    func sampleValues(in directory: URL) throws -> [String: String] {
        let seedFile = directory.appendingPathComponent("seeds.txt")
        try "127.0.0.1:7301\n".write(to: seedFile, atomically: true, encoding: .utf8)
        let keyring = directory.appendingPathComponent("cluster.keys").path
        #expect(try RumorBinary.run(["keygen", "-o", keyring]).status == 0)
        return [
            "listen": "127.0.0.1:7300", "advertise": "127.0.0.1:7300", "admin": "127.0.0.1:7302", "health": "127.0.0.1:7303",
            "seeds": seedFile.path, "seed": "127.0.0.1:7304", "id": "configured", "data-dir": directory.appendingPathComponent("data").path,
            "cluster": "lab", "exec": "cat > /dev/null", "cluster-key": keyring, "admin-any-address": "true",
            "tag": "role=db", "on-member": "failed=true", "tags-file": directory.appendingPathComponent("tags.json").path,
        ]
    }

    @Test("every option --help shows can be set by a RUMOR_ variable and by a file line, and --print-config names each source")
    func everyOptionThroughEveryLayer() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-config-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = try displayedOptions()
        #expect(options.count > 30 && options.contains { $0.name == "leave-timeout" })
        let samples = try sampleValues(in: directory)
        var values: [String: String] = [:]
        for option in options {
            guard let value = samples[option.name] ?? option.defaultValue else {
                Issue.record("option --\(option.name) has no default: give this test a value it accepts")
                continue
            }
            values[option.name] = value
        }
        func variable(_ name: String) -> String { "RUMOR_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }

        let environment = Dictionary(uniqueKeysWithValues: values.map { (variable($0.key), $0.value) })
        let throughEnvironment = try run(["--print-config"], environment: environment)
        #expect(throughEnvironment.status == 0, "\(throughEnvironment.output)")
        for (name, value) in values {
            #expect(throughEnvironment.output.contains("\(name) = \(value)   # environment \(variable(name))\n"),
                    "\(name) through \(variable(name)):\n\(throughEnvironment.output)")
        }

        let file = directory.appendingPathComponent("node.conf")
        let ordered = values.sorted { $0.key < $1.key }
        try ordered.map { "\($0.key) = \($0.value)" }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let throughFile = try run(["--config", file.path, "--print-config"])
        #expect(throughFile.status == 0, "\(throughFile.output)")
        for (line, (name, value)) in ordered.enumerated() {
            #expect(throughFile.output.contains("\(name) = \(value)   # \(file.path):\(line + 1)\n"), "\(name) through the file:\n\(throughFile.output)")
        }
    }

    @Test("the command line beats the environment, which beats the file; the node runs with the winning values")
    func precedenceInARunningNode() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-config-run-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("node.conf")
        try "# a node\nlisten = 127.0.0.1:7310\nid = from-file\nactive-view-size = 3\nleave-timeout = 1s\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try run(["--config", file.path, "--id", "from-command-line", "--print-config"],
                             environment: ["RUMOR_ID": "from-environment", "RUMOR_ACTIVE_VIEW_SIZE": "4"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("id = from-command-line   # command line"))
        #expect(result.output.contains("active-view-size = 4   # environment RUMOR_ACTIVE_VIEW_SIZE"))
        #expect(result.output.contains("leave-timeout = 1s   # \(file.path):5"))
        #expect(result.output.contains("listen = 127.0.0.1:7310   # \(file.path):2"))
    }

    @Test("a configuration mistake stops the node with status 1 and one line naming the key, the line and the expected form", arguments: [
        ("listen = 127.0.0.1:7320\nlisen = 127.0.0.1:7000\n", [:], ":2: unknown option 'lisen' (did you mean 'listen'?)"),
        ("listen = 127.0.0.1:7320\nleave-timeout = soon\n", [:], ":2: leave-timeout = soon: The value 'soon' is invalid for '--leave-timeout <duration>'; expected a duration such as 2s, 500ms or 1m"),
        ("listen = 127.0.0.1:7320\n", ["RUMOR_ACTIVE_VIEW_SIZE": "many"], "environment RUMOR_ACTIVE_VIEW_SIZE: active-view-size = many: The value 'many' is invalid for '--active-view-size <active-view-size>'; expected a whole number (default 5)"),
        ("listen = 127.0.0.1:7320\nadvertise = 0.0.0.0:7000\n", [:], "--advertise 0.0.0.0:7000: peers cannot dial an unspecified address"),
    ])
    func mistakes(file text: String, environment: [String: String], message: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rumor-bad-\(getpid()).conf")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try run(["--config", file.path], environment: environment)
        #expect(result.status == 1, "exit status \(result.status): \(result.output)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains(message), "\(result.output)")
        #expect(try run(["--config", "/nonexistent/node.conf"]).output == "Error: cannot read configuration file /nonexistent/node.conf: No such file or directory\n")
    }
}
