import Glibc
import RumorCore
import RumorSecurity

/// One attacking TCP connection with plain blocking calls, for the hostile-load bench (it runs on a thread of
/// its own, never on the async pool). It does what no well-behaved peer does.
final class HostileSocket {
    let descriptor: Int32
    private(set) var isOpen = true

    /// Connects to `address`; with `nonBlocking`, returns at once (the connect completes in the background).
    init?(connectingTo address: PeerAddress, nonBlocking: Bool = false, receiveTimeoutMilliseconds: Int = 2000) {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        var timeout = timeval(tv_sec: receiveTimeoutMilliseconds / 1000, tv_usec: (receiveTimeoutMilliseconds % 1000) * 1000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if nonBlocking { _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = address.port.bigEndian
        inet_pton(AF_INET, address.host, &target.sin_addr)
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || (nonBlocking && errno == EINPROGRESS) else {
            Glibc.close(descriptor)
            return nil
        }
    }

    deinit { close() }

    func close() {
        guard isOpen else { return }
        isOpen = false
        Glibc.close(descriptor)
    }

    /// Sends all of `bytes`; false once the peer has closed.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    func sendFrame(_ body: [UInt8]) -> Bool {
        let length = body.count
        return send([UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                     UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + body)
    }

    func receive(exactly count: Int) -> [UInt8]? {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: max(1, count))
        while collected.count < count {
            let want = count - collected.count
            let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, want, 0) }
            guard got > 0 else { return nil }
            collected += buffer[0..<got]
        }
        return collected
    }

    func receiveFrameBody() -> [UInt8]? {
        guard let prefix = receive(exactly: WireFormat.lengthPrefixSize) else { return nil }
        let length = prefix.reduce(0) { $0 << 8 | Int($1) }
        guard length <= 1 << 20 else { return nil }
        return receive(exactly: length)
    }

    /// Whether the node has closed this connection (a read sees the end, or a reset), without waiting.
    var closedByPeer: Bool {
        var byte: UInt8 = 0
        let got = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}

/// A member gone bad: it holds the cluster key, completes both handshakes, then sends what it likes.
struct KeyedFlooder {
    let socket: HostileSocket
    private var channel: SealedChannel

    init?(target: PeerAddress, keyring: Keyring, id: String) {
        guard let socket = HostileSocket(connectingTo: target) else { return nil }
        var initiator = HandshakeInitiator(keyring: keyring)
        guard socket.sendFrame(initiator.hello), let reply = socket.receiveFrameBody(),
              let step = try? initiator.receive(reply), let channel = step.channel, let confirm = step.messageToSend,
              socket.sendFrame(confirm) else { return nil }
        self.socket = socket
        self.channel = channel
        let hello = Message.handshake(Handshake(sender: PeerDescriptor(id: NodeID(id)!, address: PeerAddress(host: "127.0.0.1", port: 9)), epoch: 1))
        guard send(hello), send(.versions(VersionOffer(WireFormat.versions))) else { return nil }
    }

    /// Seals and sends one protocol message; false once the link is gone.
    mutating func send(_ message: Message) -> Bool {
        let frame = MessageCodec.encodeFrame(message)
        guard let sealed = try? channel.seal(Array(frame[WireFormat.lengthPrefixSize...])) else { return false }
        return socket.sendFrame(sealed)
    }
}
