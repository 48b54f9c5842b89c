import ArgumentParser
import FoundationEssentials
import RumorSecurity

/// Reading a keyring file for `--cluster-key`.
enum KeyringFile {
    static func load(_ path: String) throws -> Keyring {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("cannot read keyring file \(path): \(FileErrorText.describe(error))")
        }
        do throws(KeyringError) {
            return try Keyring(parsing: text)
        } catch {
            throw ValidationError("keyring file \(path): \(error)")
        }
    }
}
