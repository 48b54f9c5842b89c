/// What was wrong with a topology file, and where: every message names the file, the line and what was expected.
public struct TopologyError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    /// 1-based; 0 when the problem is not tied to a line (an unreadable file).
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int = 0, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        switch (line, column) {
        case (0, _): "\(file): \(message)"
        case (_, 0): "\(file):\(line): \(message)"
        default: "\(file):\(line):\(column): \(message)"
        }
    }
}

/// A position in the file, as Yams reports it.
public struct SourcePosition: Hashable, Sendable {
    public var line: Int
    public var column: Int
    public static let unknown = SourcePosition(line: 0, column: 0)
}

/// A problem found while resolving a decoded file, before the file name is attached.
struct ResolveProblem: Error {
    var position: SourcePosition
    var message: String
}
