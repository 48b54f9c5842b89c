import ArgumentParser
import Foundation
import RumorExperiments

/// `rumor bench directory-memory`: what one directory entry costs in memory, beside its wire size.
struct DirectoryMemoryBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory-memory",
        abstract: "Memory per directory entry with 64 B of tags (goal <= 256 B), beside the entry's wire size, at several cluster sizes.",
        discussion: "Fills many nodes' directories in this process, each node decoding its own copy of every entry as a live node does, and divides the growth of resident memory by the entries stored."
    )

    @Option(parsing: .upToNextOption, help: "Members per directory.")
    var members: [Int] = [64, 1_000, 10_000, 99_000]

    @Flag(help: "Print the rows as JSON instead of the table.")
    var json = false

    func validate() throws {
        guard !members.isEmpty, members.allSatisfy({ (1...99_999).contains($0) }) else {
            throw ValidationError("--members takes sizes from 1 to 99999 (a directory holds at most 100,000 entries, its own included)")
        }
    }

    func run() throws {
        let rows = DirectoryMemory.measure(sizes: members)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
            return
        }
        print("directory memory per entry, 64 B of tags (goal <= 256 B)")
        print("members  directories  entries stored  bytes/entry  wire bytes/entry")
        for row in rows {
            print(String(format: "%7d  %11d  %14d  %11.0f  %16.0f", row.members, row.directories, row.stored, row.bytesPerEntry, row.encodedBytesPerEntry))
        }
    }
}
