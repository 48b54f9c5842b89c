import RumorCommandLine
import Testing

/// The command line beats RUMOR_ variables, which beat the configuration file, which beats the defaults.
@Suite("Layered configuration")
struct LayeredConfigurationTests {
    static let options = [
        DeclaredOption(name: "listen", valueName: "address"),
        DeclaredOption(name: "seed", isRepeating: true, valueName: "address"),
        DeclaredOption(name: "active-view-size", defaultValue: "5"),
        DeclaredOption(name: "leave-timeout", defaultValue: "2s", valueName: "duration"),
        DeclaredOption(name: "admin-any-address", isFlag: true),
        DeclaredOption(name: "help", shortNames: ["h"], isFlag: true),
    ]

    func layers(_ commandLine: [String], environment: [String: String] = [:], file: String? = nil) throws(LayeredConfiguration.Failure) -> LayeredConfiguration {
        var environment = environment
        if file != nil { environment["RUMOR_CONFIG"] = "/etc/rumor/node.conf" }
        return try LayeredConfiguration(commandLine: commandLine, environment: environment, options: Self.options) { path in
            guard let file, path == "/etc/rumor/node.conf" else { throw LayeredConfiguration.Failure("no such file") }
            return file
        }
    }

    func setting(_ name: String, in layers: LayeredConfiguration) -> LayeredConfiguration.Setting? {
        layers.settings.first { $0.option.name == name }
    }

    @Test("each layer replaces the ones below it, repeatable options included, and the command line is parsed last as given")
    func precedence() throws {
        let file = """
        # the node's file
        listen = 127.0.0.1:7000
        seed = 198.18.0.1:7000
        seed = 198.18.0.2:7000
        active-view-size = 6
        admin-any-address = true
        """
        let result = try layers(["--active-view-size", "8"], environment: ["RUMOR_SEED": "198.18.0.9:7000, 198.18.0.10:7000"], file: file)
        #expect(setting("listen", in: result)?.source == .file(path: "/etc/rumor/node.conf", line: 2))
        #expect(setting("seed", in: result)?.values == ["198.18.0.9:7000", "198.18.0.10:7000"])
        #expect(setting("seed", in: result)?.source == .environment(variable: "RUMOR_SEED"))
        #expect(setting("active-view-size", in: result)?.source == .commandLine)
        #expect(setting("leave-timeout", in: result)?.values == ["2s"])
        #expect(setting("leave-timeout", in: result)?.source == .defaultValue)
        #expect(result.arguments == ["--listen", "127.0.0.1:7000", "--seed", "198.18.0.9:7000", "--seed", "198.18.0.10:7000",
                                     "--admin-any-address", "--active-view-size", "8"])
    }

    @Test("--config on the command line names the file, and RUMOR_CONFIG does when it is absent")
    func whichFile() throws {
        let result = try LayeredConfiguration(commandLine: ["--config=/srv/a.conf"], environment: ["RUMOR_CONFIG": "/srv/b.conf"],
                                              options: Self.options) { path in
            #expect(path == "/srv/a.conf")
            return "listen = 127.0.0.1:7001\n"
        }
        #expect(setting("listen", in: result)?.values == ["127.0.0.1:7001"])
    }

    @Test("a bad file line names the file, the line and what was expected", arguments: [
        ("lisen = 127.0.0.1:7000", "/etc/rumor/node.conf:1: unknown option 'lisen' (did you mean 'listen'?)"),
        ("listen 127.0.0.1:7000", "/etc/rumor/node.conf:1: expected 'option = value'"),
        ("listen =", "/etc/rumor/node.conf:1: 'listen' needs a value (address)"),
        ("admin-any-address = maybe", "/etc/rumor/node.conf:1: 'admin-any-address' is a flag: expected true or false, got 'maybe'"),
        ("listen = 127.0.0.1:1\nlisten = 127.0.0.1:2", "/etc/rumor/node.conf:2: 'listen' is set again (first at line 1)"),
    ])
    func badFile(text: String, message: String) {
        #expect(throws: LayeredConfiguration.Failure.self) { try layers([], file: text) }
        do {
            _ = try layers([], file: text)
        } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }

    @Test("an unreadable file is an error naming it; a RUMOR_ variable that names no option is reported, not fatal")
    func unreadableFileAndUnknownVariable() throws {
        do {
            _ = try LayeredConfiguration(commandLine: ["--config", "/missing.conf"], environment: [:], options: Self.options) { _ in
                throw LayeredConfiguration.Failure("No such file or directory")
            }
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.description == "cannot read configuration file /missing.conf: No such file or directory")
        }
        let result = try LayeredConfiguration(commandLine: [], environment: ["RUMOR_LISTN": "x", "RUMOR_SEQ": "3", "PATH": "/bin"],
                                               options: Self.options, reserved: ["RUMOR_SEQ"]) { _ in "" }
        #expect(result.unknownVariables == ["RUMOR_LISTN"])
    }

    @Test("a parser error about an option set by a file or a variable is told with its source and its expected form")
    func locatedErrors() throws {
        let result = try layers([], environment: ["RUMOR_LEAVE_TIMEOUT": "soon"], file: "active-view-size = x\n")
        let fileError = "The value 'x' is invalid for '--active-view-size <active-view-size>'"
        #expect(result.locate(fileError) == "/etc/rumor/node.conf:1: active-view-size = x: \(fileError)")
        #expect(result.expectedForm(in: fileError) == "a whole number (default 5)")
        let variableError = "The value 'soon' is invalid for '--leave-timeout <duration>'"
        #expect(result.locate(variableError) == "environment RUMOR_LEAVE_TIMEOUT: leave-timeout = soon: \(variableError)")
        #expect(result.expectedForm(in: variableError) == "a duration such as 2s, 500ms or 1m")
        #expect(result.locate("--listen is required") == "--listen is required", "an option nobody set is not blamed on a layer")
    }

    @Test("--print-config's text lists each value with its source, unset options commented out")
    func description() throws {
        let result = try layers(["--listen", "127.0.0.1:7000"], environment: ["RUMOR_ADMIN_ANY_ADDRESS": "yes"], file: "seed = a:1\nseed = b:2\n")
        #expect(result.description.split(separator: "\n").map(String.init) == [
            "listen = 127.0.0.1:7000   # command line",
            "seed = a:1   # /etc/rumor/node.conf:1",
            "seed = b:2   # /etc/rumor/node.conf:2",
            "active-view-size = 5   # default",
            "leave-timeout = 2s   # default",
            "admin-any-address = true   # environment RUMOR_ADMIN_ANY_ADDRESS",
            "# help =   (not set)",
        ])
    }
}
