import ArgumentParser
import RumorCommandLine
import Foundation
import RumorSecurity

/// `rumor keygen`: a new random cluster key, as one line of a keyring file.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a new cluster key.",
        discussion: """
            Prints one key (64 hex characters), or writes it to a new keyring file readable by its owner only.
            A keyring file holds one key a line; new links use the first, and any key in it is accepted. To rotate
            without downtime: add the new key as a second line on every node (rolling restart), then move it to the
            first line everywhere, then drop the old one.
            """)

    @Option(name: .shortAndLong, help: ArgumentHelp("Write a new keyring file here instead of printing the key.", valueName: "file"))
    var output: String?

    func run() throws {
        let key = ClusterKey.generate()
        guard let output else {
            print(key.text)
            return
        }
        // Created exclusively with its final mode: never over an existing keyring, never readable by others.
        let descriptor = open(output, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            if errno == EEXIST {
                throw ValidationError("\(output) exists already; a keyring is never overwritten (add a key to it by hand to rotate)")
            }
            throw CommandFailure("rumor keygen: cannot create \(output): \(String(cString: strerror(errno)))")
        }
        let line = Array("\(key.text)\n".utf8)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        guard written == line.count else { throw CommandFailure("rumor keygen: cannot write \(output)") }
        print("wrote \(key) to \(output)")
    }
}
