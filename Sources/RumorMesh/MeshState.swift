import Foundation
import RumorCore
import RumorTopology
import RumorUV

/// Everything a running mesh shares between its publisher, poller, scheduler and display: the node
/// processes and the observation being recorded.
actor MeshState {
    private let startedAt = ContinuousClock.now
    /// Wall-clock nanoseconds at the start: nodes stamp deliveries with the wall clock (one machine, one clock).
    let startWallNanoseconds: Int64
    private(set) var observation: RunObservation
    private var processes: [String: NodeProcess] = [:]
    private var currentLife: [String: Int] = [:]
    private var deliveredUpTo: [String: UInt64] = [:]
    private(set) var latestViews: [String: [String]] = [:]
    private(set) var problems: [String] = []
    private(set) var publishFailures = 0
    private(set) var deliveryCount = 0
    private(set) var lastEvent: String?
    private var partitioned = false
    /// Grows with every start, kill and churn step, so a poll that overlapped one can be told apart.
    private(set) var changes = 0

    init(duration: Duration) {
        startWallNanoseconds = Int64(WallClock.nanoseconds())
        observation = RunObservation(duration: duration)
    }

    nonisolated var elapsed: Duration { ContinuousClock.now - startedAt }

    var liveNodeIDs: Set<String> { Set(processes.keys) }
    /// Live nodes that have answered on their admin endpoint in this life: the ones that can take a publish.
    private(set) var readyNodeIDs: Set<String> = []
    func process(of node: String) -> NodeProcess? { processes[node] }

    /// Where each node runs now: a `move` places an id at a new address.
    private var incarnations: [String: MeshNode] = [:]
    func incarnation(of id: String) -> MeshNode? { incarnations[id] }

    func started(_ placed: MeshNode, process: NodeProcess) {
        let node = placed.id
        incarnations[node] = placed
        changes += 1
        processes[node] = process
        currentLife[node] = observation.lives.count
        observation.lives.append(.init(node: node, start: elapsed))
        deliveredUpTo[node] = 0
    }

    /// Ends a node's life (killed on purpose, or found dead).
    func ended(_ node: String, unexpectedly: Bool) {
        guard let process = processes.removeValue(forKey: node) else { return }
        // A node told to leave (an upgrade's SIGTERM) may be seen gone by a poll before its step says so.
        let toldToLeave = leaving.contains(node)
        changes += 1
        // The life ends as the signal goes: peers see the node's sockets reset while the kernel tears the
        // process down, before `kill` has reaped it.
        let endedAt = elapsed
        process.kill()
        if let life = currentLife.removeValue(forKey: node) { observation.lives[life].end = endedAt }
        latestViews.removeValue(forKey: node)
        readyNodeIDs.remove(node)
        leaving.remove(node)
        if unexpectedly, !toldToLeave { problems.append("\(node) exited on its own at \(Self.seconds(elapsed)) s (see its log)") }
    }

    func recordEvent(_ label: String, change: ChurnPlan.Change) {
        if let split = change.splitsOverlay { partitioned = split }
        changes += 1
        observation.events.append(.init(at: elapsed, label: label, expectsConnectedOverlay: !partitioned))
        lastEvent = "\(label) at \(Self.seconds(elapsed)) s"
    }

    /// When the last churn step was carried out.
    var lastChangeAt: Duration? { observation.events.last?.at }

    func recordStart() {
        readyNodeIDs = liveNodeIDs
        observation.events.append(.init(at: elapsed, label: "start", expectsConnectedOverlay: true))
    }

    func published(_ id: String, origin: String, at: Duration) {
        observation.publications.append(.init(id: id, origin: origin, at: at))
    }

    func publishFailed(_ reason: String) {
        publishFailures += 1
        if publishFailures <= 3 { problems.append("a publish failed: \(reason)") }
    }

    func lastDelivery(of node: String) -> UInt64 { deliveredUpTo[node] ?? 0 }

    func life(of node: String) -> Int? { currentLife[node] }

    /// Nodes about to be killed take no more publishes.
    /// Frozen nodes' processes, stopped (SIGSTOP) and not polled: their lives ended at the freeze.
    private(set) var frozenProcesses: [String: NodeProcess] = [:]

    /// Hangs `node`: its life ends (it must deliver nothing while frozen), its process stays.
    func froze(_ node: String) {
        guard let process = processes.removeValue(forKey: node) else { return }
        changes += 1
        process.pause()
        frozenProcesses[node] = process
        if let life = currentLife.removeValue(forKey: node) { observation.lives[life].end = elapsed }
        latestViews.removeValue(forKey: node)
        readyNodeIDs.remove(node)
        leaving.remove(node)
    }

    /// Lets a frozen node go on, in a new life; its delivery log goes on from where it was.
    func thawed(_ node: String) {
        guard let process = frozenProcesses.removeValue(forKey: node) else { return }
        changes += 1
        process.resume()
        processes[node] = process
        currentLife[node] = observation.lives.count
        observation.lives.append(.init(node: node, start: elapsed))
    }

    /// Nodes an `upgrade` step restarted: from then on they offer every wire version the build speaks.
    private(set) var upgradedNodeIDs: Set<String> = []
    func markUpgraded(_ nodes: [String]) { upgradedNodeIDs.formUnion(nodes) }

    func markLeaving(_ nodes: [String]) {
        leaving.formUnion(nodes)
        readyNodeIDs.subtract(nodes)
    }

    private var leaving: Set<String> = []

    var publicationCount: Int { observation.publications.count }

    /// Deliveries a poll fetched from `node` in `life`; dropped if the node has died or restarted since.
    func received(_ lines: [NodeAdmin.DeliveryLine], from node: String, life: Int) {
        guard currentLife[node] == life else { return }
        for line in lines where line.seq > deliveredUpTo[node] ?? 0 {
            let at = Duration.nanoseconds(line.received_ns - startWallNanoseconds)
            observation.deliveries.append(.init(message: line.id, node: node, life: life, at: at))
            deliveredUpTo[node] = line.seq
            deliveryCount += 1
        }
    }

    /// Records the views gathered by a poll, unless the mesh changed while it ran (a half-old picture
    /// would show killed nodes as live but silent).
    func snapshot(at: Duration, views: [String: [String]], changesWhenBegun: Int) {
        readyNodeIDs.formUnion(views.keys.filter { processes[$0] != nil && !leaving.contains($0) })
        guard changes == changesWhenBegun else { return }
        let live = liveNodeIDs
        let current = views.filter { live.contains($0.key) }
        latestViews = current
        observation.snapshots.append(.init(at: at, views: current))
    }

    func recordIPv4Sockets(_ counts: [String: Int]) { observation.ipv4Sockets = counts }

    /// The `failed` events `observer` recorded, stamped with its wall clock.
    func recordMemberFailures(_ lines: [NodeAdmin.MemberEventLine], seenBy observer: String) {
        var failures = observation.memberFailures ?? []
        for line in lines where line.event == "failed" {
            failures.append(.init(observer: observer, member: line.id, at: .nanoseconds(line.applied_ns - startWallNanoseconds)))
        }
        observation.memberFailures = failures
    }

    func noteProblem(_ problem: String) {
        if !problems.contains(problem) { problems.append(problem) }
    }

    /// Publication times taken from the origin's own delivery, which is stamped when the node handled the
    /// publish, rather than from when the launcher sent the request.
    func finishObservation() -> RunObservation {
        var originTimes: [String: Duration] = [:]
        let publicationIDs = Set(observation.publications.map(\.id))
        for delivery in observation.deliveries where publicationIDs.contains(delivery.message) {
            originTimes[delivery.message + "|" + delivery.node] = delivery.at
        }
        for index in observation.publications.indices {
            let publication = observation.publications[index]
            if let at = originTimes[publication.id + "|" + publication.origin] { observation.publications[index].at = at }
        }
        return observation
    }

    static func seconds(_ duration: Duration) -> String { String(format: "%.1f", duration.seconds) }
}
