import Foundation
import RumorCore
import RumorSim

/// The configuration of test node `index`, seeded by the nodes listed.
func configuration(_ index: Int, seeds: [Int], epoch: Epoch = 1) -> NodeConfiguration {
    simulatedConfiguration(index, seeds: seeds, epoch: epoch)
}

/// The topology files under `topologies/`, found from this source file.
let topologiesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("topologies").path

/// Pairs (A, B) where A holds B and B does not hold A, both now and 200 ms later. Rotations keep changing
/// links in a healthy overlay, so at any instant a NEIGHBOR reply or a DISCONNECT may be in flight; only an
/// asymmetry that outlives that is a fault.
func persistentAsymmetricPairs(_ network: inout SimulatedNetwork) -> [String] {
    let before = Set(network.asymmetricPairs().map { "\($0.0) holds \($0.1)" })
    network.run(for: .milliseconds(200))
    return network.asymmetricPairs().map { "\($0.0) holds \($0.1)" }.filter(before.contains)
}
