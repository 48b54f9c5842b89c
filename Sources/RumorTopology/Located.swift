import Yams

/// A decoded value with the position it came from, so that checks made after decoding (an unknown node
/// in a seed list, a loss outside 0...1) can still name the line.
public struct Located<Value: Decodable & Sendable>: Decodable, Sendable {
    public var value: Value
    public var position: SourcePosition

    public init(_ value: Value, at position: SourcePosition = .unknown) {
        self.value = value
        self.position = position
    }

    public init(from decoder: any Decoder) throws {
        value = try Value(from: decoder)
        position = decoder.mark.map { SourcePosition(line: $0.line, column: $0.column) } ?? .unknown
    }

    func problem(_ message: String) -> ResolveProblem { ResolveProblem(position: position, message: message) }
}
