/// What a handshake machine asks of its caller after taking in a message.
public enum HandshakeStep: Sendable {
    /// Send this body (with its length prefix) and feed the machine the peer's next handshake frame.
    case send([UInt8])
    /// The peer proved it holds the cluster key. Send `send` if there is one (the initiator's CONFIRM), then seal
    /// every later frame of the link with the channel and open every frame from the peer with it.
    case established(SealedChannel, send: [UInt8]?)

    /// The body to send now, if any.
    public var messageToSend: [UInt8]? {
        switch self {
        case .send(let body): body
        case .established(_, let body): body
        }
    }

    /// The channel, once established.
    public var channel: SealedChannel? {
        if case .established(let channel, _) = self { channel } else { nil }
    }
}
