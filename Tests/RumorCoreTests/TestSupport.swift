import RumorCore
import RumorSim

/// The configuration of test node `index`, seeded by the nodes listed.
func configuration(_ index: Int, seeds: [Int], epoch: Epoch = 1) -> NodeConfiguration {
    simulatedConfiguration(index, seeds: seeds, epoch: epoch)
}
