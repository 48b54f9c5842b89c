import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

/// Two adjacent wire versions in one simulated overlay, as during a rolling upgrade.
@Suite("Mixed wire versions in the simulator", .checkedSimulations)
struct MixedVersionOverlayTests {
    /// Even nodes offer version 3 only (the previous release); odd nodes offer 3 and 4.
    static func offersOnlyVersion3(_ index: Int) -> Bool { index % 2 == 0 }

    @Test("500 nodes, every other one offering version 3 only, form one overlay where every broadcast reaches every node once and each link runs at the highest version its ends share")
    func mixedOverlayIsOne() throws {
        var network = SimulatedNetwork()
        for index in 0..<500 {
            var node = configuration(index, seeds: index == 0 ? [] : [0])
            if Self.offersOnlyVersion3(index) { node.wireVersions = 3...3 }
            network.add(node, seed: 900 &+ UInt64(index))
            network.run(for: .milliseconds(10))
        }
        network.run(for: .seconds(20))
        var random = SeededRandom(seed: 9)
        var ids: [MessageID] = []
        for _ in 0..<200 {
            ids.append(try network.publish([1, 2, 3], from: network.liveAddresses.randomElement(using: &random)!))
            network.run(for: .milliseconds(5))
        }
        network.run(for: .seconds(3))
        #expect(ids.allSatisfy { network.nodesMissing($0).isEmpty }, "reliability 1.0")
        #expect(network.duplicateDeliveries == 0)
        #expect(persistentAsymmetricPairs(&network).isEmpty)

        var linksAt: [UInt8: Int] = [:]
        let newest = WireFormat.versions.upperBound
        for index in 0..<500 {
            for peer in network.node(at: .local(index)).status(at: network.now).active {
                let peerIndex = Int(peer.id.rawValue.dropFirst())!
                let expected: UInt8 = Self.offersOnlyVersion3(index) || Self.offersOnlyVersion3(peerIndex) ? 3 : newest
                #expect(peer.wireVersion == expected, "n\(index)–\(peer.id)")
                if expected == 3 { #expect(peer.roundTripTime == nil, "no PINGs on a version-3 link") }
                // A link a rotation made in the last two seconds may not have had its first PONG yet.
                if expected >= MessageType.ping.introducedIn, network.now.since(peer.since) > .seconds(2) { #expect(peer.roundTripTime != nil) }
                linksAt[peer.wireVersion, default: 0] += 1
            }
        }
        #expect(linksAt[3, default: 0] > 0 && linksAt[newest, default: 0] > 0, "\(linksAt)")
    }
}
