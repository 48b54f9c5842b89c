/// The cluster keys a node holds: never empty, in order of preference. The first key opens every outbound link;
/// any key is accepted inbound. That split lets a cluster rotate its key with no downtime: add the new key second
/// on every node, then make it first everywhere, then drop the old one.
public struct Keyring: Sendable {
    /// At least one key, no two alike.
    public let keys: [ClusterKey]

    /// The key for new outbound links.
    public var primary: ClusterKey { keys[0] }

    /// A keyring of one key.
    public init(_ key: ClusterKey) {
        keys = [key]
    }

    /// A keyring of `keys`, first preferred. Refuses an empty list and a key listed twice. Keys are told apart by
    /// their ids, which is what a responder looks them up by: two keys sharing one would be ambiguous anyway.
    public init(_ keys: [ClusterKey]) throws(KeyringError) {
        guard !keys.isEmpty else { throw .empty }
        for (index, key) in keys.enumerated() {
            if let earlier = keys[..<index].firstIndex(where: { $0.id == key.id }) {
                throw .duplicateKey(position: index + 1, sameAs: earlier + 1)
            }
        }
        self.keys = keys
    }

    /// Parses a keyring file: one key per line, in order of preference. Blank lines are ignored, and so is
    /// everything from a `#` to the end of its line. Errors name the 1-based line.
    public init(parsing text: some StringProtocol) throws(KeyringError) {
        var keys: [ClusterKey] = []
        var lineOfKey: [ClusterKey.ID: Int] = [:]
        // `isNewline` splits "\r\n" (one Character in Swift) as well as "\n".
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let content = (line.firstIndex(of: "#").map { line[..<$0] } ?? line[...]).trimmedOfWhitespace
            if content.isEmpty { continue }
            let key: ClusterKey
            do throws(ClusterKeyTextError) {
                key = try ClusterKey(text: content)
            } catch {
                throw .invalidLine(line: number, error)
            }
            if let earlier = lineOfKey[key.id] { throw .duplicateLine(line: number, sameAs: earlier) }
            lineOfKey[key.id] = number
            keys.append(key)
        }
        guard !keys.isEmpty else { throw .empty }
        self.keys = keys
    }

    /// The key whose id a HELLO named, if this keyring holds it.
    public func key(withID id: ClusterKey.ID) -> ClusterKey? {
        keys.first { $0.id == id }
    }

    /// The keyring in its file form, one key per line: secret material, for writing a key file only.
    public var text: String {
        keys.map { $0.text + "\n" }.joined()
    }
}

/// Why a keyring was refused.
public enum KeyringError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No key at all: a node with an empty keyring could never open or accept a link.
    case empty
    /// A keyring file's line that is neither blank, a comment, nor a key.
    case invalidLine(line: Int, ClusterKeyTextError)
    /// A keyring file's line that repeats the key of an earlier line.
    case duplicateLine(line: Int, sameAs: Int)
    /// A key list's entry (1-based) that repeats an earlier entry.
    case duplicateKey(position: Int, sameAs: Int)

    public var description: String {
        switch self {
        case .empty:
            "keyring holds no key"
        case .invalidLine(let line, let problem):
            "keyring line \(line): \(problem)"
        case .duplicateLine(let line, let earlier):
            "keyring line \(line): the same key as line \(earlier)"
        case .duplicateKey(let position, let earlier):
            "keyring key \(position) is the same as key \(earlier)"
        }
    }
}
