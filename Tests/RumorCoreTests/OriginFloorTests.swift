import Testing
@testable import RumorCore
import RumorSim
import SimulationTestSupport

/// The origin floors of the seen set (docs/broadcast.md, "Origin floors"), at the scale of an overlay: a
/// payload that one node received late stays in its cache after its peers have forgotten the payload's id,
/// and the digests that keep naming it must not bring it back to them.
@Suite("Broadcast: a payload received late is not delivered again once its id is forgotten", .checkedSimulations)
struct OriginFloorTests {
    @Test("a node that gets a message 100 s late keeps it past its peers' seen retention; through 500 s of digests every node has delivered it once")
    func lateReceiverBringsNothingBack() throws {
        // Seen ids kept 150 s, payloads 120 s: the late node's copy (cached from 105 s) outlives its peers'
        // memory of the id (150 s), as happened at 1,000 nodes with the defaults, where a digest truncated at
        // 512 origins held first deliveries back for about 100 s.
        let seenRetention = Duration.seconds(150)
        var network = SimulatedNetwork(seed: 31)
        for index in 0..<16 {
            var node = configuration(index, seeds: index == 0 ? [] : [0])
            node.broadcast.seenRetention = seenRetention
            network.add(node, seed: 31 &+ UInt64(index))
            network.run(for: .milliseconds(10))
        }
        network.run(for: .seconds(20))
        let late = PeerAddress.local(9)
        let others = network.addresses.filter { $0 != late }
        network.partition(into: [others, [late]])
        network.run(for: .seconds(5))

        let published = network.now
        let message = try network.publish([1, 2, 3], from: .local(3))
        network.run(for: .seconds(100))
        #expect(network.deliveryCount(of: message, at: late) == 0)
        network.heal()
        network.run(for: .seconds(10))
        #expect(network.deliveryCount(of: message, at: late) == 1, "the late node got the message through anti-entropy")

        // Messages from everyone after the peers' seen ids expired, so that digests keep going out.
        var random = SeededRandom(seed: 5)
        var later: [MessageID] = []
        while network.now < published + seenRetention + .seconds(350) {
            let origin = network.liveAddresses.randomElement(using: &random)!
            later.append(try network.publish([4, 5, 6], from: origin))
            network.run(for: .seconds(2))
        }
        network.run(for: .seconds(10))
        #expect(network.nodesMissing(message).isEmpty, "delivered other than once at: \(network.nodesMissing(message))")
        #expect(later.allSatisfy { network.nodesMissing($0).isEmpty })
        #expect(network.duplicateDeliveries == 0)
    }
}
