import Foundation
import RumorCore
import RumorTopology
import RumorUV

/// How a mesh is launched and shown.
public struct MeshOptions: Sendable {
    /// The `rumor` binary of the launcher; nodes run `rumor-node` from the same directory.
    public var executable: String
    /// Where node logs go (`logs/NODE.log`).
    public var workDirectory: String
    public var display: MeshDisplay
    public var pollInterval: Duration = .milliseconds(500)
    /// Polls come this often for 3 seconds after each change.
    public var pollIntervalAfterChange: Duration = .milliseconds(100)
    /// How long every initial node may take to answer on its admin endpoint.
    public var startTimeout: Duration = .seconds(30)
    /// The nodes' `--log-level` (their logs go to `logs/NODE.log`).
    public var nodeLogLevel = "info"
    /// Added to every node's command line (for example `--cluster-key FILE`).
    public var extraNodeArguments: [String] = []

    public init(executable: String, workDirectory: String, display: MeshDisplay) {
        self.executable = executable
        self.workDirectory = workDirectory
        self.display = display
    }
}

/// What a mesh run produced.
public struct MeshResult: Sendable {
    public var topology: Topology
    public var plan: ChurnPlan
    public var observation: RunObservation
    public var evaluation: RunEvaluation
    /// Things that went wrong in the harness or the nodes, apart from the checks.
    public var problems: [String]
    /// True when the run was cut short by Ctrl-C or SIGTERM.
    public var interrupted: Bool
    /// What each node still running at the end had cost (live meshes only).
    var processStats: [ProcessStats] = []

    public init(topology: Topology, plan: ChurnPlan, observation: RunObservation, evaluation: RunEvaluation,
                problems: [String] = [], interrupted: Bool = false) {
        self.topology = topology
        self.plan = plan
        self.observation = observation
        self.evaluation = evaluation
        self.problems = problems
        self.interrupted = interrupted
    }
}

/// Where the node executable is: nodes run `rumor-node` (small, without the launcher's code and Foundation),
/// built into the same directory as `rumor`.
public enum NodeExecutable {
    public static func beside(_ rumorExecutable: String) -> String {
        let directory = rumorExecutable.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (directory.isEmpty ? "." : directory) + "/rumor-node"
    }

    /// `beside(rumorExecutable)`, or an error that says how to build it.
    public static func locate(beside rumorExecutable: String) throws(MeshLaunchError) -> String {
        let executable = beside(rumorExecutable)
        guard access(executable, X_OK) == 0 else {
            throw MeshLaunchError(description: "\(executable) is missing; build it with `swift build -c release --product rumor-node`")
        }
        return executable
    }
}

public struct MeshLaunchError: Error, CustomStringConvertible {
    public var description: String
}

/// Launches a topology as real `rumor node` processes on loopback, publishes its workload, carries out its
/// churn plan, polls every node's status and deliveries, and tears everything down at the end or on
/// Ctrl-C. The observation it records is judged by the same `RunEvaluation` as a simulated run.
public final class MeshRunner: Sendable {
    let topology: Topology
    let plan: ChurnPlan
    let options: MeshOptions
    /// `rumor-node` beside `options.executable`, found once at launch.
    private let nodeExecutable: String
    private let interruption = Interruption()

    public init(topology: Topology, options: MeshOptions) throws {
        nodeExecutable = try NodeExecutable.locate(beside: options.executable)
        self.topology = topology
        self.plan = try ChurnPlanner(topology: topology).plan()
        self.options = options
    }

    public func run() async throws -> MeshResult {
        try prepareWorkDirectory()
        interruption.watchSignals()
        defer { interruption.stopWatching() }
        let eventLoop = try EventLoop()
        eventLoop.start()
        defer { eventLoop.shutdown() }
        let admin = NodeAdmin(eventLoop: eventLoop)
        let state = MeshState(duration: topology.duration)
        let view = LiveView(topology: topology, plan: plan, display: options.display)

        do {
            try await startInitialNodes(state: state, admin: admin)
        } catch {
            await tearDown(state: state)
            throw error
        }
        await state.recordStart()
        view.announce("all \(topology.nodes.count) nodes answer; running for \(DurationText.format(topology.duration))")

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.publish(state: state, admin: admin) }
            group.addTask { await self.carryOutPlan(state: state, admin: admin, view: view) }
            group.addTask { await self.poll(state: state, admin: admin) }
            group.addTask { await view.run(state: state, until: self.topology.duration, interruption: self.interruption) }
        }
        // Last deliveries of every node still up, what each cost, then the mesh goes.
        await pollOnce(state: state, admin: admin, takeSnapshot: true)
        var stats: [ProcessStats] = []
        for node in await state.liveNodeIDs.sorted() {
            if let process = await state.process(of: node), var figures = ProcessStats.read(pid: process.pid) {
                figures.node = node
                stats.append(figures)
            }
        }
        await tearDown(state: state)
        view.finish()
        let observation = await state.finishObservation()
        let evaluation = RunEvaluation(observation: observation, checks: topology.checks)
        var problems = await state.problems
        if interruption.isInterrupted { problems.append("interrupted before the end of the run") }
        var result = MeshResult(topology: topology, plan: plan, observation: observation, evaluation: evaluation,
                                problems: problems, interrupted: interruption.isInterrupted)
        result.processStats = stats
        return result
    }

    /// Sleeps in short slices, so that Ctrl-C is acted on within a tenth of a second.
    private func pause(for duration: Duration) async {
        let end = ContinuousClock.now + duration
        while !interruption.isInterrupted, ContinuousClock.now < end {
            try? await Task.sleep(for: min(.milliseconds(100), end - ContinuousClock.now))
        }
    }

    // MARK: Nodes

    private func prepareWorkDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: options.workDirectory + "/logs", withIntermediateDirectories: true)
        } catch {
            throw MeshLaunchError(description: "cannot create \(options.workDirectory)/logs: \(error.localizedDescription)")
        }
    }

    private func logFile(of node: MeshNode) -> String { "\(options.workDirectory)/logs/\(node.id).log" }

    private func arguments(for node: MeshNode, upgraded: Bool) -> [String] {
        var arguments = ["--listen", "\(node.address)", "--admin", "\(node.admin)", "--id", node.id,
                         "--exit-with-parent", "--log-level", options.nodeLogLevel]
        if let versions = node.wireVersions, !upgraded {
            arguments += ["--wire-versions", "\(versions.lowerBound)-\(versions.upperBound)"]
        }
        for seed in node.seeds {
            if let address = plan.node(seed)?.address { arguments += ["--seed", "\(address)"] }
        }
        let links = topology.links
        if !links.isUnchanged {
            arguments += ["--link-latency-ms", "\(Double(links.latency.nanosecondsRounded) / 1e6)",
                          "--link-jitter-ms", "\(Double(links.jitter.nanosecondsRounded) / 1e6)", "--link-loss", "\(links.loss)"]
        }
        return arguments + options.extraNodeArguments
    }

    private func spawn(_ node: MeshNode, state: MeshState) async throws {
        let upgraded = await state.upgradedNodeIDs.contains(node.id)
        let process = try NodeProcess(executable: nodeExecutable, arguments: arguments(for: node, upgraded: upgraded),
                                      logFile: logFile(of: node), node: node.id)
        await state.started(node.id, process: process)
    }

    private func startInitialNodes(state: MeshState, admin: NodeAdmin) async throws {
        for node in topology.nodes { try await spawn(node, state: state) }
        let deadline = ContinuousClock.now + options.startTimeout
        var waiting = topology.nodes
        while !waiting.isEmpty {
            if interruption.isInterrupted { throw MeshLaunchError(description: "interrupted while the nodes were starting") }
            var stillWaiting: [MeshNode] = []
            for node in waiting {
                if let process = await state.process(of: node.id), !process.isRunning {
                    throw MeshLaunchError(description: "\(node.id) (\(node.address)) exited at start: \(lastLogLine(of: node))")
                }
                if (try? await admin.status(of: node)) == nil { stillWaiting.append(node) }
            }
            waiting = stillWaiting
            guard !waiting.isEmpty else { break }
            if ContinuousClock.now > deadline {
                let names = waiting.prefix(5).map(\.id).joined(separator: ", ")
                throw MeshLaunchError(description: "\(waiting.count) nodes did not answer within \(options.startTimeout) (\(names)); last log line of \(waiting[0].id): \(lastLogLine(of: waiting[0]))")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private func lastLogLine(of node: MeshNode) -> String {
        guard let text = try? String(contentsOfFile: logFile(of: node), encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n").last.map(String.init) ?? "(empty log)"
    }

    private func tearDown(state: MeshState) async {
        let live = await state.liveNodeIDs
        var processes: [NodeProcess] = []
        for node in live { if let process = await state.process(of: node) { processes.append(process) } }
        // A stopped process keeps SIGTERM pending: it goes on first, then leaves with the rest.
        for process in await state.frozenProcesses.values {
            process.resume()
            processes.append(process)
        }
        for process in processes { process.terminate() }
        // One deadline for all: a mesh of 64 stuck nodes is gone in 3 s, not 64 × 3 s.
        let deadline = ContinuousClock.now + .seconds(3)
        for process in processes { await process.waitOrKill(timeout: max(.zero, deadline - ContinuousClock.now)) }
    }

    // MARK: Workload

    private func publish(state: MeshState, admin: NodeAdmin) async {
        var schedule = PublishSchedule(topology: topology)
        for (index, time) in schedule.times.enumerated() {
            guard !interruption.isInterrupted else { return }
            let wait = time - state.elapsed
            if wait > .zero { await pause(for: wait) }
            guard let origin = schedule.origin(among: await state.readyNodeIDs, allNodes: plan.nodes) else { continue }
            let sentAt = state.elapsed
            do {
                let id = try await admin.publish(schedule.payload(number: index + 1), on: origin)
                await state.published(id, origin: origin.id, at: sentAt)
            } catch {
                await state.publishFailed("\(error)")
            }
        }
    }

    // MARK: Polling

    private func poll(state: MeshState, admin: NodeAdmin) async {
        while state.elapsed < topology.duration, !interruption.isInterrupted {
            let began = state.elapsed
            await pollOnce(state: state, admin: admin, takeSnapshot: true)
            // Closer looks for a few seconds after each change, to time the repair finely.
            let sinceChange = await state.lastChangeAt.map { began - $0 }
            let interval = sinceChange.map { $0 < .seconds(3) } == true ? options.pollIntervalAfterChange : options.pollInterval
            // Waited out in short steps: a change during a long interval is looked at at once, or a repair
            // would be timed by the interval instead of the node.
            let deadline = began + interval
            while state.elapsed < deadline, !interruption.isInterrupted {
                if let change = await state.lastChangeAt, change > began { break }
                await pause(for: min(options.pollIntervalAfterChange, deadline - state.elapsed))
            }
        }
    }

    /// Status and new deliveries from every live node, at once.
    func pollOnce(state: MeshState, admin: NodeAdmin, takeSnapshot: Bool, only: Set<String>? = nil) async {
        let changesWhenBegun = await state.changes
        let live = await state.liveNodeIDs
        let nodes = plan.nodes.filter { live.contains($0.id) && (only?.contains($0.id) ?? true) }
        var after: [String: UInt64] = [:]
        var lives: [String: Int] = [:]
        for node in nodes {
            after[node.id] = await state.lastDelivery(of: node.id)
            lives[node.id] = await state.life(of: node.id)
        }
        let answers = await withTaskGroup(of: (String, NodeAdmin.Status?, [NodeAdmin.DeliveryLine]?).self) { group in
            for node in nodes {
                let since = after[node.id] ?? 0
                group.addTask {
                    let status = takeSnapshot ? try? await admin.status(of: node) : nil
                    let deliveries = try? await admin.deliveries(of: node, after: since)
                    return (node.id, status, deliveries)
                }
            }
            var answers: [(String, NodeAdmin.Status?, [NodeAdmin.DeliveryLine]?)] = []
            for await answer in group { answers.append(answer) }
            return answers
        }
        var views: [String: [String]] = [:]
        for (node, status, deliveries) in answers {
            if let deliveries, let life = lives[node] { await state.received(deliveries, from: node, life: life) }
            if let status { views[node] = status.active.map(\.id) }
            if status == nil, deliveries == nil, let process = await state.process(of: node), !process.isRunning {
                await state.ended(node, unexpectedly: true)
            }
        }
        // Stamped when the last answer is in: times measured to a snapshot are upper bounds.
        if takeSnapshot { await state.snapshot(at: state.elapsed, views: views, changesWhenBegun: changesWhenBegun) }
    }

    // MARK: Churn

    private func carryOutPlan(state: MeshState, admin: NodeAdmin, view: LiveView) async {
        var shapes: [LinkShape] = []
        for step in plan.steps {
            let wait = step.at - state.elapsed
            if wait > .zero { await pause(for: wait) }
            guard !interruption.isInterrupted else { return }
            switch step.change {
            case .kill(let victims):
                // No new message may start on a node about to die; then its deliveries so far, as its log dies with it.
                await state.markLeaving(victims)
                await pollOnce(state: state, admin: admin, takeSnapshot: false, only: Set(victims))
                for victim in victims { await state.ended(victim, unexpectedly: false) }
            case .restart(let ids):
                for node in ids.compactMap(plan.node) { await start(node, state: state, admin: admin, shapes: shapes) }
            case .upgrade(let ids):
                // As an operator's rolling restart: each leaves politely (SIGTERM), then runs again on the new version.
                await state.markLeaving(ids)
                await pollOnce(state: state, admin: admin, takeSnapshot: false, only: Set(ids))
                var stopping: [NodeProcess] = []
                for id in ids { if let process = await state.process(of: id) { stopping.append(process) } }
                for process in stopping { process.terminate() }
                for process in stopping { await process.waitOrKill(timeout: .seconds(3)) }
                for id in ids { await state.ended(id, unexpectedly: false) }
                await state.markUpgraded(ids)
                for node in ids.compactMap(plan.node) { await start(node, state: state, admin: admin, shapes: shapes) }
            case .freeze(let ids):
                // Their deliveries so far first: a frozen node answers no poll.
                await state.markLeaving(ids)
                await pollOnce(state: state, admin: admin, takeSnapshot: false, only: Set(ids))
                for id in ids { await state.froze(id) }
            case .thaw(let ids):
                for id in ids { await state.thawed(id) }
            case .add(let nodes):
                for node in nodes { await start(node, state: state, admin: admin, shapes: shapes) }
            case .partition(let groups):
                let live = await state.readyNodeIDs
                for group in groups {
                    let members = Set(group)
                    let outsiders = plan.nodes.filter { !members.contains($0.id) }.map(\.address)
                    await eachNode(group.filter(live.contains), admin: admin, state: state) { node in
                        try await admin.setLinks(on: node, peers: outsiders, to: .cut)
                    }
                }
            case .heal:
                // Back to the default, then any slowed links again: a heal ends the cut, not the slowness.
                let live = await state.readyNodeIDs
                let everyone = plan.nodes.map(\.address)
                let standing = shapes
                await eachNode(Array(live), admin: admin, state: state) { node in
                    try await admin.setLinks(on: node, peers: everyone, to: nil)
                    try await self.applyShapes(standing, to: node, admin: admin)
                }
            case .shapeLinks(let nodes, let conditions, let onlyAmong):
                let shape = LinkShape(nodes: Set(nodes), conditions: conditions, onlyAmong: onlyAmong)
                shapes.append(shape)
                let live = await state.readyNodeIDs
                await eachNode(Array(live), admin: admin, state: state) { node in
                    try await self.applyShapes([shape], to: node, admin: admin)
                }
            }
            await state.recordEvent(step.label, change: step.change)
            view.announce("\(DurationText.format(step.at)): \(step.label)")
        }
    }

    private func start(_ node: MeshNode, state: MeshState, admin: NodeAdmin, shapes: [LinkShape]) async {
        do {
            try await spawn(node, state: state)
        } catch {
            await state.noteProblem("\(error)")
            return
        }
        guard !shapes.isEmpty else { return }
        // Slowed links apply to nodes that come later too, once their admin endpoint answers.
        Task {
            for _ in 0..<50 where (try? await admin.status(of: node)) == nil { try? await Task.sleep(for: .milliseconds(100)) }
            do { try await self.applyShapes(shapes, to: node, admin: admin) } catch { await state.noteProblem("\(error)") }
        }
    }

    /// Each end sets the conditions of its side: a node in a slowed set for its links to everyone else (or,
    /// for one link, to the other end only); every other node for its links to the set.
    private func applyShapes(_ shapes: [LinkShape], to node: MeshNode, admin: NodeAdmin) async throws {
        for shape in shapes {
            let inside = shape.nodes.contains(node.id)
            let peers: [PeerAddress]
            switch (inside, shape.onlyAmong) {
            case (true, true): peers = plan.nodes.filter { $0.id != node.id && shape.nodes.contains($0.id) }.map(\.address)
            case (true, false): peers = plan.nodes.filter { $0.id != node.id }.map(\.address)
            case (false, true): peers = []
            case (false, false): peers = plan.nodes.filter { shape.nodes.contains($0.id) }.map(\.address)
            }
            try await admin.setLinks(on: node, peers: peers, to: shape.conditions)
        }
    }

    private func eachNode(_ ids: [String], admin: NodeAdmin, state: MeshState,
                          _ body: @escaping @Sendable (MeshNode) async throws -> Void) async {
        let nodes = ids.compactMap(plan.node)
        await withTaskGroup(of: String?.self) { group in
            for node in nodes {
                group.addTask {
                    do { try await body(node); return nil } catch { return "\(error)" }
                }
            }
            for await problem in group { if let problem { await state.noteProblem(problem) } }
        }
    }
}

/// Slowed links of a run: every link of `nodes`, or with `onlyAmong` only the links between them.
struct LinkShape: Sendable {
    var nodes: Set<String>
    var conditions: LinkConditions
    var onlyAmong: Bool
}
