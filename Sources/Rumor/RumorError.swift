/// What went wrong, said so that a program can act on it.
public enum RumorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A configuration value is out of range or inconsistent; the text names it.
    case invalidConfiguration(String)
    /// The cluster key could not be read or is not a keyring.
    case clusterKey(String)
    /// Another socket already listens on the address.
    case addressInUse(PeerAddress)
    /// The address could not be listened on for another reason (not a local address, no permission).
    case cannotListen(PeerAddress, reason: String)
    /// `start()` was called on a node that is starting or running.
    case alreadyStarted
    /// The node has not been started yet.
    case notStarted
    /// The node has left (or is leaving) the overlay; a node is not started twice.
    case stopped
    /// The operating system refused what the node needs to run (its event loop); the text says what.
    case system(String)
    /// A payload is larger than `RumorConfiguration.broadcast.maximumPayloadSize`.
    case payloadTooLarge(size: Int, limit: Int)
    /// Tags broke a directory limit (docs/directory.md, D6); the text names it.
    case invalidTags(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let text): "invalid configuration: \(text)"
        case .clusterKey(let text): "cluster key: \(text)"
        case .addressInUse(let address): "\(address) is already in use"
        case .cannotListen(let address, let reason): "cannot listen on \(address): \(reason)"
        case .alreadyStarted: "the node is already started"
        case .notStarted: "the node is not started"
        case .stopped: "the node has left the overlay"
        case .system(let text): "the system refused: \(text)"
        case .payloadTooLarge(let size, let limit): "payload of \(size) bytes exceeds the limit of \(limit) bytes"
        case .invalidTags(let text): "tags refused: \(text)"
        }
    }
}
