/// A seed file: one `host:port` a line; `#` starts a comment; blank lines are ignored.
public enum SeedList {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var file: String
        public var line: Int
        public var problem: String

        public var description: String { "\(file):\(line): \(problem)" }
    }

    public static func parse(_ text: String, file: String) throws(ParseError) -> [PeerAddress] {
        var seeds: [PeerAddress] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let content = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = content.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            do throws(AddressError) {
                let address = try PeerAddress(parsing: String(trimmed))
                if !seeds.contains(address) { seeds.append(address) }
            } catch {
                throw ParseError(file: file, line: lineNumber, problem: error.description)
            }
        }
        return seeds
    }
}
