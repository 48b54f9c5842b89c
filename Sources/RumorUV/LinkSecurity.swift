import RumorCore
import RumorSecurity

/// Where a link stands with the cluster key: open (the node runs without one), proving the key in the
/// handshake, or sealed. A keyed link carries nothing of the protocol until both sides have proved the key:
/// the core hears of the link only once it is sealed.
enum LinkSecurity {
    case open
    case initiating(HandshakeInitiator)
    case responding(HandshakeResponder)
    case sealed(SealedChannel)
    /// The handshake or a sealed frame failed; the link is closing and reads nothing more.
    case failed

    var isHandshaking: Bool {
        switch self {
        case .initiating, .responding: true
        case .open, .sealed, .failed: false
        }
    }

    /// The largest frame body accepted from the peer now: a handshake message is small, so a hostile length
    /// prefix is refused before any of it is buffered.
    func receiveLimit(frameLimit: Int) -> Int {
        switch self {
        case .open: frameLimit
        case .initiating, .responding, .failed: HandshakeFormat.maximumBodySize
        case .sealed: frameLimit + SealedChannel.overhead
        }
    }
}

/// Why a keyed link was closed before or after its handshake: logged with the peer's address, and counted.
package enum LinkSecurityFailure: Error, CustomStringConvertible {
    case handshake(HandshakeError)
    case handshakeTimedOut(Duration)
    case sealedFrame(SealError)
    /// The peer closed during the handshake: it holds another key, none, or refused ours (a responder says
    /// nothing to a stranger, so this is all an initiator learns).
    case closedDuringHandshake(String)

    package var description: String {
        switch self {
        case .handshake(let error): "cluster-key handshake failed: \(error)"
        case .handshakeTimedOut(let limit): "cluster-key handshake not completed within \(limit)"
        case .sealedFrame(let error): "sealed frame refused: \(error)"
        case .closedDuringHandshake(let reason):
            "peer closed during the cluster-key handshake (\(reason)): it holds another key or none; see its log"
        }
    }

    /// The label of the `rumor_security_failures_total` counter this failure counts under.
    var metricReason: String {
        switch self {
        case .handshake(.unknownKey): "unknown_key"
        case .handshake(.responderFailedProof), .handshake(.initiatorFailedProof): "failed_proof"
        case .handshake: "malformed_handshake"
        case .handshakeTimedOut: "handshake_timeout"
        case .sealedFrame: "bad_sealed_frame"
        case .closedDuringHandshake: "closed_during_handshake"
        }
    }
}
