/// The configuration file: one `option = value` a line, the option named as on the command line without
/// its dashes (`leave-timeout = 2s`); a repeatable option may be given on several lines, a flag takes
/// `true` or `false`; a line whose first character (after blanks) is `#` is a comment. There are no inline
/// comments, so that a value (an `exec` command, a path) may hold any character.
enum ConfigurationFile {
    static func parse(_ text: String, path: String, options: [String: DeclaredOption]) throws(LayeredConfiguration.Failure)
        -> [LayeredConfiguration.Setting] {
        var settings: [LayeredConfiguration.Setting] = []
        var firstLine: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = String(rawLine).trimmed
            if line.isEmpty || line.hasPrefix("#") { continue }
            func failure(_ why: String) -> LayeredConfiguration.Failure {
                LayeredConfiguration.Failure("\(path):\(lineNumber): \(why)")
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw failure("expected 'option = value', got '\(line)'")
            }
            var key = String(line[..<equals]).trimmed
            if key.hasPrefix("--") { key.removeFirst(2) }
            let value = unquoted(String(line[line.index(after: equals)...]).trimmed)
            guard let option = options[key] else {
                let hint = closestName(to: key, among: options.keys).map { " (did you mean '\($0)'?)" } ?? ""
                throw failure("unknown option '\(key)'\(hint); keys are the long options of --help, without the dashes")
            }
            if let first = firstLine[key], !option.isRepeating {
                throw failure("'\(key)' is set again (first at line \(first)); only repeatable options such as 'seed' may be")
            }
            let given: String
            if option.isFlag {
                guard let flag = flagValue(value) else { throw failure("'\(key)' is a flag: expected true or false, got '\(value)'") }
                given = flag ? "true" : "false"
            } else {
                guard !value.isEmpty else {
                    throw failure("'\(key)' needs a value\(option.valueName.map { " (\($0))" } ?? "")")
                }
                given = value
            }
            if let existing = settings.firstIndex(where: { $0.option.name == key }) {
                settings[existing].values.append(given)
                settings[existing].valueSources.append(.file(path: path, line: lineNumber))
            } else {
                firstLine[key] = lineNumber
                settings.append(.init(option: option, values: [given], source: .file(path: path, line: lineNumber)))
            }
        }
        return settings
    }

    static func flagValue(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "on", "1": true
        case "false", "no", "off", "0": false
        default: nil
        }
    }

    /// A value in double quotes keeps its outer blanks; the quotes go.
    private static func unquoted(_ value: String) -> String {
        guard value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") else { return value }
        return String(value.dropFirst().dropLast())
    }

    /// The option name nearest to a misspelt one, if it is near enough to be what was meant.
    private static func closestName(to key: String, among names: some Collection<String>) -> String? {
        let scored = names.map { ($0, editDistance(key, $0)) }.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
        guard let (name, distance) = scored, distance <= max(2, key.count / 4) else { return nil }
        return name
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
