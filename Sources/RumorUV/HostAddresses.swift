import CLibUV
import Glibc
import RumorCore

/// The addresses of this host's interfaces, as libuv lists them: what a node bound to 0.0.0.0 or `::`
/// could advertise.
public enum HostAddresses {
    /// Every address of a non-loopback interface (IPv6 link-local ones left out: a peer cannot dial them
    /// without a zone), in the order the kernel lists them.
    public static func nonLoopback() -> [String] {
        var interfaces: UnsafeMutablePointer<uv_interface_address_t>?
        var count: Int32 = 0
        guard uv_interface_addresses(&interfaces, &count) == 0, let interfaces else { return [] }
        defer { uv_free_interface_addresses(interfaces, count) }
        var found: [String] = []
        // One entry at a time from libuv's array, read while it is alive (freed by the defer above).
        for entry in UnsafeBufferPointer(start: interfaces, count: Int(count)) where entry.is_internal == 0 {
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: entry.address) { raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(raw.count))) }
            }
            guard let (host, _) = SocketAddress.describe(storage), !host.lowercased().hasPrefix("fe80:"), !found.contains(host) else { continue }
            found.append(host)
        }
        return found
    }
}
