import ArgumentParser

@main
struct RumorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rumor",
        abstract: "A peer-sampling overlay node (HyParView) with tree broadcast (Plumtree), on libuv.",
        subcommands: [NodeCommand.self, StatusCommand.self, BenchCommand.self]
    )
}
