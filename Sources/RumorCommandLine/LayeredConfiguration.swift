/// A command's options from four layers: the command line beats `RUMOR_<OPTION>` environment variables,
/// which beat a configuration file (`--config FILE`, or `RUMOR_CONFIG`), which beats the defaults. A
/// layer that sets an option replaces whatever a lower layer gave it, repeatable options included. The
/// result is handed to ArgumentParser as one argument list, so every value is parsed and validated by the
/// same code whichever layer it came from; an error it reports about an option is told with the layer,
/// file line or variable the value came from.
public struct LayeredConfiguration: Sendable {
    /// Where an option's value came from.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case commandLine
        case environment(variable: String)
        case file(path: String, line: Int)
        case defaultValue

        public var description: String {
            switch self {
            case .commandLine: "command line"
            case .environment(let variable): "environment \(variable)"
            case .file(let path, let line): "\(path):\(line)"
            case .defaultValue: "default"
            }
        }
    }

    /// One option's effective values and their source.
    public struct Setting: Sendable, Equatable {
        public var option: DeclaredOption
        public var values: [String]
        /// The layer that set the option (a file's first line of it).
        public var source: Source
        /// Where each value came from: a repeated key's own file line, or `source` for every value.
        public var valueSources: [Source]

        init(option: DeclaredOption, values: [String], source: Source, valueSources: [Source]? = nil) {
            self.option = option
            self.values = values
            self.source = source
            self.valueSources = valueSources ?? Array(repeating: source, count: values.count)
        }
    }

    /// What was wrong, and where: the file's line, or the variable.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Every declared option with its effective values, in declaration order.
    public private(set) var settings: [Setting] = []
    /// The arguments to parse: the lower layers' options not set on the command line, then the command
    /// line as it was given.
    public private(set) var arguments: [String] = []
    /// `RUMOR_` variables that name no option: reported, not fatal (a shell may carry other programs' ones).
    public private(set) var unknownVariables: [String] = []

    /// The environment variable that names a configuration file when `--config` is not given.
    public static let fileVariable = "RUMOR_CONFIG"

    /// Layers `commandLine` (the arguments after the program name) over `environment` over the file that
    /// `--config` (or `RUMOR_CONFIG`) names, read with `readFile`. `reserved` are variables that belong to
    /// something else and are neither options nor reported (e.g. those a delivery handler is given).
    public init(commandLine: [String], environment: [String: String], options: [DeclaredOption],
                reserved: Set<String> = [], readFile: (String) throws -> String) throws(Failure) {
        let byName = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let onCommandLine = Self.optionsNamed(in: commandLine, options: options)
        var chosen: [String: Setting] = [:]

        if let path = Self.configurationPath(commandLine: commandLine, environment: environment) {
            let text: String
            do { text = try readFile(path) } catch {
                throw Failure("cannot read configuration file \(path): \(error)")
            }
            for setting in try ConfigurationFile.parse(text, path: path, options: byName) {
                chosen[setting.option.name] = setting
            }
        }
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) where variable.hasPrefix("RUMOR_") {
            guard variable != Self.fileVariable, !reserved.contains(variable) else { continue }
            guard let option = options.first(where: { $0.environmentVariable == variable }) else {
                unknownVariables.append(variable)
                continue
            }
            let values = try Self.environmentValues(value, of: option, variable: variable)
            chosen[option.name] = Setting(option: option, values: values, source: .environment(variable: variable))
        }
        for option in options {
            if onCommandLine.contains(option.name) {
                settings.append(Setting(option: option, values: Self.commandLineValues(of: option, in: commandLine), source: .commandLine))
            } else if let setting = chosen[option.name] {
                settings.append(setting)
                arguments += Self.arguments(for: setting)
            } else {
                settings.append(Setting(option: option, values: option.defaultValue.map { [$0] } ?? [], source: .defaultValue))
            }
        }
        arguments += commandLine
    }

    /// Whether anything lies under the command line: a configuration file, or a `RUMOR_` variable that is
    /// not `reserved`. When nothing does, the command line alone is the configuration, and the options'
    /// declarations need not be read at all.
    public static func hasLowerLayers(commandLine: [String], environment: [String: String], reserved: Set<String> = []) -> Bool {
        configurationPath(commandLine: commandLine, environment: environment) != nil
            || environment.keys.contains { $0.hasPrefix("RUMOR_") && !reserved.contains($0) }
    }

    /// An error from parsing `arguments`, told with where the offending value came from when it names an
    /// option that a file or a variable set.
    public func locate(_ message: String) -> String {
        for setting in settings {
            switch setting.source {
            case .commandLine, .defaultValue:
                continue
            case .environment, .file:
                guard Self.mentions(message, option: setting.option.name) else { continue }
                let given = setting.values.joined(separator: ", ")
                return "\(setting.source): \(setting.option.name) = \(given): \(message)"
            }
        }
        return message
    }

    /// The form a value of the option that `message` names takes, from the option's declaration: an address,
    /// a duration, or a number like its default.
    public func expectedForm(in message: String) -> String? {
        guard let option = settings.map(\.option).first(where: { Self.mentions(message, option: $0.name) }) else { return nil }
        switch option.valueName {
        case "address": return "HOST:PORT, e.g. 198.18.0.1:7000 or [fd00::1]:7000"
        case "duration": return "a duration such as 2s, 500ms or 1m"
        default: break
        }
        guard let defaultValue = option.defaultValue else { return nil }
        if Int(defaultValue) != nil { return "a whole number (default \(defaultValue))" }
        if Double(defaultValue) != nil { return "a number (default \(defaultValue))" }
        return "a value like the default, \(defaultValue)"
    }

    /// The effective configuration as a file of this format would write it, each line with its source;
    /// options left unset and without a default are listed commented out.
    public var description: String {
        var lines: [String] = []
        for setting in settings {
            if setting.values.isEmpty {
                lines.append("# \(setting.option.name) =   (not set)")
            } else if setting.option.isFlag {
                lines.append("\(setting.option.name) = \(setting.values.last == "true" ? "true" : "false")   # \(setting.source)")
            } else {
                for (value, source) in zip(setting.values, setting.valueSources) {
                    lines.append("\(setting.option.name) = \(value)   # \(source)")
                }
            }
        }
        for variable in unknownVariables { lines.append("# \(variable) names no option: ignored") }
        return lines.joined(separator: "\n")
    }

    // MARK: Reading the layers

    private static func configurationPath(commandLine: [String], environment: [String: String]) -> String? {
        var index = commandLine.startIndex
        while index < commandLine.endIndex {
            let argument = commandLine[index]
            if argument == "--" { break }
            if argument == "--config", index + 1 < commandLine.endIndex { return commandLine[index + 1] }
            if argument.hasPrefix("--config=") { return String(argument.dropFirst("--config=".count)) }
            index += 1
        }
        return environment[fileVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The long names of the options the command line sets (`--name`, `--name=value`, or a short name).
    private static func optionsNamed(in commandLine: [String], options: [DeclaredOption]) -> Set<String> {
        var named: Set<String> = []
        for argument in commandLine {
            if argument == "--" { break }
            if argument.hasPrefix("--") {
                named.insert(String(argument.dropFirst(2).prefix { $0 != "=" }))
            } else if argument.hasPrefix("-"), argument.count == 2,
                      let option = options.first(where: { $0.shortNames.contains(String(argument.dropFirst())) }) {
                named.insert(option.name)
            }
        }
        return named
    }

    private static func commandLineValues(of option: DeclaredOption, in commandLine: [String]) -> [String] {
        var values: [String] = []
        var index = commandLine.startIndex
        while index < commandLine.endIndex {
            let argument = commandLine[index]
            if argument == "--\(option.name)" {
                if option.isFlag {
                    values.append("true")
                } else if index + 1 < commandLine.endIndex {
                    values.append(commandLine[index + 1])
                    index += 1
                }
            } else if argument.hasPrefix("--\(option.name)=") {
                values.append(String(argument.dropFirst(option.name.count + 3)))
            }
            index += 1
        }
        return option.isRepeating ? values : Array(values.suffix(1))
    }

    private static func environmentValues(_ value: String, of option: DeclaredOption, variable: String) throws(Failure) -> [String] {
        if option.isFlag {
            guard let flag = ConfigurationFile.flagValue(value) else {
                throw Failure("environment \(variable)=\(value): \(option.name) is a flag; expected true or false")
            }
            return [flag ? "true" : "false"]
        }
        let values = option.isRepeating ? value.split(separator: ",").map { String($0).trimmed } : [value]
        guard !values.isEmpty, !values.contains(where: \.isEmpty) else {
            throw Failure("environment \(variable)='\(value)': expected \(option.valueName.map { "a \($0)" } ?? "a value")\(option.isRepeating ? " (several separated by commas)" : "")")
        }
        return values
    }

    /// The arguments that give `setting` to ArgumentParser: `--name value` for each value, `--name` for a set flag.
    private static func arguments(for setting: Setting) -> [String] {
        if setting.option.isFlag { return setting.values.last == "true" ? ["--\(setting.option.name)"] : [] }
        return setting.values.flatMap { ["--\(setting.option.name)", $0] }
    }

    /// Whether `message` names `--option` on its own (not as the start of a longer option's name).
    private static func mentions(_ message: String, option: String) -> Bool {
        let needle = Array("--\(option)".utf8)
        let bytes = Array(message.utf8)
        guard bytes.count >= needle.count else { return false }
        for start in 0...(bytes.count - needle.count) where Array(bytes[start..<start + needle.count]) == needle {
            let end = start + needle.count
            guard end < bytes.count else { return true }
            let next = bytes[end]
            let continuesName = (next >= UInt8(ascii: "a") && next <= UInt8(ascii: "z")) || next == UInt8(ascii: "-")
                || (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9"))
            if !continuesName { return true }
        }
        return false
    }
}

extension String {
    var trimmed: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
    }
}
