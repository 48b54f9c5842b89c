import RumorCore

/// Where a mesh's nodes run: all on loopback of this host, or each in a network namespace of its own on a
/// bridge (the namespace bench, `scripts/netns-lab`), where faults are done by the kernel.
public enum MeshNetwork: Hashable, Sendable, CustomStringConvertible {
    case loopback
    case namespaces(LabFamily)

    public var isNamespaces: Bool {
        if case .namespaces = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .loopback: "loopback"
        case .namespaces(let family): "network namespaces (\(family))"
        }
    }
}

/// The address family of a namespace bench: IPv6-only nodes have no IPv4 address at all.
public enum LabFamily: String, Hashable, Sendable, CustomStringConvertible {
    case ipv4 = "4"
    case ipv6 = "6"

    public var description: String { self == .ipv4 ? "IPv4" : "IPv6" }
}

/// The addresses `scripts/netns-lab` gives its hosts, so that a topology can be planned (and simulated)
/// before any namespace exists: slot I is the I-th namespace of a run, 198.18.X.Y or fd52:7275:6d6f::X:Y
/// with X = 1 + (I-1)/250 and Y = 1 + (I-1)%250. Every node listens on its slot's address, port 7000 for
/// peers and 8000 for its admin endpoint (which only the harness, in the hub namespace, can reach).
public enum LabAddressing {
    /// A Linux bridge takes at most 1024 ports; the lab script stops at 1000.
    public static let maximumSlots = 1000
    public static let peerPort: UInt16 = 7000
    public static let adminPort: UInt16 = 8000
    /// The port a seed name is dialled at: every node's.
    public static var seedPort: UInt16 { peerPort }

    public static func host(slot: Int, family: LabFamily) -> String {
        let block = 1 + (slot - 1) / 250
        let offset = 1 + (slot - 1) % 250
        switch family {
        case .ipv4: return "198.18.\(block).\(offset)"
        case .ipv6: return "fd52:7275:6d6f::\(block):\(offset)"
        }
    }

    public static func address(slot: Int, family: LabFamily) -> PeerAddress {
        PeerAddress(host: host(slot: slot, family: family), port: peerPort)
    }

    public static func admin(slot: Int, family: LabFamily) -> PeerAddress {
        PeerAddress(host: host(slot: slot, family: family), port: adminPort)
    }
}

/// A rate for the kernel's token bucket (tc units), as `scripts/netns-lab rate` takes it.
public enum KernelRate {
    /// Bits per second of `1mbit`, `500kbit`, `2mbps`; nil when it is not such a rate.
    public static func bitsPerSecond(_ text: String) -> Double? {
        let units: [(String, Double)] = [("tbit", 1e12), ("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1),
                                         ("tbps", 8e12), ("gbps", 8e9), ("mbps", 8e6), ("kbps", 8e3), ("bps", 8)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(number) else { return nil }
            return value * factor
        }
        return nil
    }

    /// At least 8 kbit/s: tbf cannot pass a frame through a slower bucket.
    public static func isValid(_ text: String) -> Bool { (bitsPerSecond(text) ?? 0) >= 8000 }
}
