import RumorCore

/// When a run publishes and from which node: evenly spaced at the workload's rate from its start to its
/// stop, each from a random publisher that is up (any node that is up when every publisher is down). Live
/// meshes and the simulator use this one schedule, so a file publishes the same way in both.
public struct PublishSchedule: Sendable {
    public let times: [Duration]
    public let payloadSize: Int
    /// The chosen publishers, or nil when every node publishes (nodes added during the run too).
    private let publishers: [MeshNode]?
    private var random: SeededRandom

    public init(topology: Topology) {
        var random = SeededRandom(seed: topology.seed ^ 0x9_0B)
        let workload = topology.workload
        switch workload.publishers {
        case .all: publishers = nil
        case .count(let count): publishers = Array(topology.nodes.shuffled(using: &random).prefix(count))
        }
        var times: [Duration] = []
        if workload.rate > 0 {
            let interval = Duration.nanoseconds(Int64(1e9 / workload.rate))
            var next = workload.start
            while next <= workload.stop {
                times.append(next)
                next += interval
            }
        }
        self.times = times
        self.payloadSize = workload.payloadSize
        self.random = random
    }

    /// The origin of the next message, among the nodes that can take a publish now.
    public mutating func origin(among ready: Set<String>, allNodes: [MeshNode]) -> MeshNode? {
        let candidates = (publishers ?? allNodes).filter { ready.contains($0.id) }
        let pool = candidates.isEmpty ? allNodes.filter { ready.contains($0.id) } : candidates
        return pool.randomElement(using: &random)
    }

    /// A payload that says which message it is, padded to the workload's size.
    public func payload(number: Int) -> [UInt8] {
        var bytes = Array("rumor mesh message \(number) ".utf8)
        if bytes.count < payloadSize { bytes += Array(repeating: UInt8(ascii: "."), count: payloadSize - bytes.count) }
        return Array(bytes.prefix(payloadSize))
    }
}
