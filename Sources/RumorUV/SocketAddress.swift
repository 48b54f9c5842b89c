import CLibUV
import Glibc
import RumorCore

/// A `sockaddr` for an IPv4 or IPv6 literal; hostnames are not resolved (seed files name addresses).
struct SocketAddress {
    var storage = sockaddr_storage()

    init(_ address: PeerAddress) throws(UVError) {
        let host = address.host
        let port = Int32(address.port)
        let result: Int32 = withUnsafeMutableBytes(of: &storage) { raw in
            if host.contains(":") {
                return uv_ip6_addr(host, port, raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self))
            }
            return uv_ip4_addr(host, port, raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self))
        }
        try check(result, "parsing address \(address) (an IPv4 or IPv6 literal is expected)")
    }

    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>) -> Result) -> Result {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self)) }
    }

    /// `host:port` of a socket address libuv filled in.
    static func describe(_ storage: sockaddr_storage) -> (host: String, port: UInt16)? {
        var copy = storage
        return withUnsafeMutableBytes(of: &copy) { raw -> (String, UInt16)? in
            var text = [CChar](repeating: 0, count: 64)
            switch Int32(storage.ss_family) {
            case AF_INET:
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                uv_ip4_name(address, &text, text.count)
                return (decodeCString(text), UInt16(bigEndian: address.pointee.sin_port))
            case AF_INET6:
                let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                uv_ip6_name(address, &text, text.count)
                return (decodeCString(text), UInt16(bigEndian: address.pointee.sin6_port))
            default:
                return nil
            }
        }
    }
}

/// The text of a NUL-terminated C buffer.
func decodeCString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}
