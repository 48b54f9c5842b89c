import RumorCore

/// The address a node puts in every descriptor it hands out: what peers dial to reach it. Separate from
/// the listen address, which may be 0.0.0.0 or `::` (every interface) and then means nothing to a peer.
public enum AdvertiseAddress {
    /// `advertise` if given, else the listen address, else (listening on every interface) the host's one
    /// non-loopback address of the listen address's family; or why none can be chosen.
    public static func choose(listen: PeerAddress, advertise: PeerAddress?, seeds: [PeerAddress],
                              hostAddresses: [String]) -> Result<PeerAddress, ConfigurationError> {
        let chosen: PeerAddress
        if let advertise {
            guard !advertise.isUnspecified else {
                return .failure(.invalid("--advertise \(advertise): peers cannot dial an unspecified address; give the address they reach this node at"))
            }
            guard advertise.isLiteral else {
                return .failure(.invalid("--advertise \(advertise): descriptors carry addresses, not names (names are for seeds); give the IP address peers reach this node at"))
            }
            chosen = advertise
        } else if listen.isUnspecified {
            let wantsIPv6 = listen.host == "::"
            // `::` also accepts IPv4 on Linux: both families are candidates then.
            let candidates = hostAddresses.filter { wantsIPv6 || !$0.contains(":") }
            switch candidates.count {
            case 1:
                chosen = PeerAddress(host: candidates[0], port: listen.port)
            case 0:
                return .failure(.invalid("--listen \(listen) needs --advertise: this host has no non-loopback address to advertise"))
            default:
                return .failure(.invalid("--listen \(listen) needs --advertise: this host has several addresses (\(candidates.joined(separator: ", "))); say which one peers reach it at"))
            }
        } else {
            chosen = listen
        }
        if chosen.isLoopback, let remote = seeds.first(where: { !$0.isLoopback && !$0.isUnspecified }) {
            return .failure(.invalid("advertising the loopback address \(chosen) while seed \(remote) is on another host: peers there would dial themselves; give --advertise"))
        }
        return .success(chosen)
    }
}
