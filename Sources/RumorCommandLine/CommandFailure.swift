import ArgumentParser
import RumorCore

/// A command that could not do its job: ArgumentParser prints the sentence and exits with status 1.
public struct CommandFailure: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}

extension PeerAddress: ExpressibleByArgument {
    public init?(argument: String) {
        guard let address = try? PeerAddress(parsing: argument) else { return nil }
        self = address
    }
}
