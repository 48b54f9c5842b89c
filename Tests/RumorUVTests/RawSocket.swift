import Glibc
import RumorCore

/// A blocking TCP client for tests that must send what no well-behaved peer would.
final class RawSocket {
    private let descriptor: Int32

    init(connectingTo address: PeerAddress, receiveTimeout seconds: Int = 3) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = address.port.bigEndian
        inet_pton(AF_INET, address.host, &target.sin_addr)
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw RawSocketError(description: "connect to \(address) failed: errno \(errno)")
        }
    }

    deinit { Glibc.close(descriptor) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads exactly `count` bytes; nil when the peer closes or the timeout passes first.
    func receive(exactly count: Int) -> [UInt8]? {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        while collected.count < count {
            let want = count - collected.count
            let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, want, 0) }
            guard got > 0 else { return nil }
            collected += buffer[0..<got]
        }
        return collected
    }

    /// Reads one length-prefixed frame body.
    func receiveFrameBody() -> [UInt8]? {
        guard let prefix = receive(exactly: WireFormat.lengthPrefixSize) else { return nil }
        let length = prefix.reduce(0) { $0 << 8 | Int($1) }
        return receive(exactly: length)
    }

    /// Sends `body` with its length prefix.
    func sendFrame(_ body: [UInt8]) {
        let length = body.count
        send([UInt8(length >> 24 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body)
    }

    /// Reads until the peer closes or the timeout passes; returns the bytes and whether the peer closed.
    func readUntilClosed() -> (bytes: [UInt8], closed: Bool) {
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                collected += buffer[0..<count]
            } else {
                return (collected, count == 0 || errno == ECONNRESET)
            }
        }
    }
}

struct RawSocketError: Error, CustomStringConvertible {
    var description: String
}

/// All frames in `bytes`, decoded.
func decodeFrames(_ bytes: [UInt8]) throws -> [Message] {
    var assembler = FrameAssembler()
    assembler.append(bytes)
    var messages: [Message] = []
    while let message = try assembler.nextMessage() { messages.append(message) }
    return messages
}

/// A listening socket with a backlog of 0 that never accepts.
final class SilentListener {
    private let descriptor: Int32
    let address: PeerAddress

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &local.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound, listen(descriptor, 0) == 0 else { throw RawSocketError(description: "silent listener failed: errno \(errno)") }
        address = PeerAddress(host: "127.0.0.1", port: UInt16(bigEndian: local.sin_port))
    }

    deinit { Glibc.close(descriptor) }
}
