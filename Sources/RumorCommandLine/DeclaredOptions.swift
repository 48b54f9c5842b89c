import ArgumentParser
import FoundationEssentials

/// One option a command declares, as ArgumentParser itself describes it: the configuration file's keys and
/// the `RUMOR_<OPTION>` variables are derived from these, so an option added to the command is configurable
/// everywhere without being listed again.
public struct DeclaredOption: Sendable, Equatable {
    /// The long name without dashes: `leave-timeout`.
    public var name: String
    /// One-letter names, if any (`-h`): the command line may use them.
    public var shortNames: [String]
    /// A flag takes no value (`true` or `false` in a file or the environment).
    public var isFlag: Bool
    /// May be given several times (`--seed`): a file repeats the key, the environment separates by commas.
    public var isRepeating: Bool
    /// What the command uses when nothing sets it, as its help shows it.
    public var defaultValue: String?
    public var valueName: String?

    public init(name: String, shortNames: [String] = [], isFlag: Bool = false, isRepeating: Bool = false,
                defaultValue: String? = nil, valueName: String? = nil) {
        self.name = name
        self.shortNames = shortNames
        self.isFlag = isFlag
        self.isRepeating = isRepeating
        self.defaultValue = defaultValue
        self.valueName = valueName
    }

    /// `RUMOR_LEAVE_TIMEOUT` for `leave-timeout`.
    public var environmentVariable: String {
        "RUMOR_" + String(name.uppercased().map { $0 == "-" ? "_" : $0 })
    }
}

extension DeclaredOption {
    /// Every option and flag `command --help` shows, except those named in `excluding` (help, version, and
    /// the options that choose the configuration itself). Read from ArgumentParser's own description of the
    /// command (the JSON behind `--experimental-dump-help`).
    public static func declared(by command: any ParsableCommand.Type, excluding: Set<String>) -> [DeclaredOption] {
        guard let info = try? JSONDecoder().decode(ToolDescription.self, from: Data(command._dumpHelp().utf8)) else {
            preconditionFailure("ArgumentParser's description of \(command) did not decode")
        }
        return info.command.arguments.compactMap { argument in
            guard argument.kind != "positional", argument.shouldDisplay ?? true else { return nil }
            let names = argument.names ?? []
            guard let long = names.first(where: { $0.kind == "long" })?.name, !excluding.contains(long) else { return nil }
            return DeclaredOption(name: long, shortNames: names.filter { $0.kind == "short" }.map(\.name),
                                  isFlag: argument.kind == "flag", isRepeating: argument.isRepeating ?? false,
                                  defaultValue: argument.defaultValue, valueName: argument.valueName)
        }
    }

    /// The part of ArgumentParser's tool description read here.
    private struct ToolDescription: Decodable {
        struct Command: Decodable { var arguments: [Argument] }
        struct Argument: Decodable {
            struct Name: Decodable { var kind: String; var name: String }
            var kind: String
            var names: [Name]?
            var isRepeating: Bool?
            var shouldDisplay: Bool?
            var defaultValue: String?
            var valueName: String?
        }
        var command: Command
    }
}
