import ArgumentParser

@main
struct RumorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rumor",
        abstract: "A peer-sampling overlay node (HyParView) with tree broadcast (Plumtree), on libuv.",
        subcommands: [NodeCommand.self, StatusCommand.self, PublishCommand.self, TailCommand.self, SimCommand.self, BenchCommand.self]
    )
}

/// A command that could not do its job: ArgumentParser prints the sentence and exits with status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}
