import RumorCommandLine
import RumorCore
import RumorUV
import Testing

/// What a node advertises, from its listen address, `--advertise`, its seeds and the host's addresses.
@Suite("Advertise address")
struct AdvertiseAddressTests {
    func choose(_ listen: String, advertise: String? = nil, seeds: [String] = [], host: [String]) -> Result<PeerAddress, ConfigurationError> {
        AdvertiseAddress.choose(listen: try! PeerAddress(parsing: listen), advertise: advertise.map { try! PeerAddress(parsing: $0) },
                                seeds: seeds.map { try! PeerAddress(parsing: $0) }, hostAddresses: host)
    }

    func failure(_ result: Result<PeerAddress, ConfigurationError>) -> String? {
        if case .failure(let failure) = result { failure.description } else { nil }
    }

    @Test("a concrete listen address is advertised as it is; --advertise wins over it")
    func listenOrAdvertise() throws {
        #expect(try choose("127.0.0.1:7000", host: []).get() == PeerAddress(host: "127.0.0.1", port: 7000))
        #expect(try choose("0.0.0.0:7000", advertise: "198.18.0.5:7100", host: ["198.18.0.1", "198.18.0.2"]).get()
                == PeerAddress(host: "198.18.0.5", port: 7100))
    }

    @Test("listening on every interface advertises the host's one address of that family, and refuses to guess among several or none")
    func unspecifiedListen() throws {
        #expect(try choose("0.0.0.0:7000", host: ["198.18.0.7", "fd00::7"]).get() == PeerAddress(host: "198.18.0.7", port: 7000))
        #expect(failure(choose("[::]:7000", host: ["198.18.0.7", "fd00::7"]))?.contains("several addresses (198.18.0.7, fd00::7)") == true)
        #expect(failure(choose("0.0.0.0:7000", host: []))?.contains("no non-loopback address") == true)
    }

    @Test("an unspecified --advertise, or a loopback one with a seed on another host, is refused with the reason")
    func refusals() {
        #expect(failure(choose("0.0.0.0:7000", advertise: "0.0.0.0:7000", host: ["198.18.0.7"]))?
            .contains("--advertise 0.0.0.0:7000: peers cannot dial an unspecified address") == true)
        #expect(failure(choose("127.0.0.1:7000", seeds: ["198.18.0.9:7000"], host: []))?.contains("peers there would dial themselves") == true)
        #expect((try? choose("127.0.0.1:7000", seeds: ["127.0.0.2:7000"], host: []).get()) != nil, "loopback seeds are fine")
    }

    @Test("this host's interface addresses leave out loopback and link-local ones")
    func hostAddresses() {
        let addresses = HostAddresses.nonLoopback()
        #expect(!addresses.contains { $0.hasPrefix("127.") || $0 == "::1" || $0.lowercased().hasPrefix("fe80:") }, "\(addresses)")
    }
}
