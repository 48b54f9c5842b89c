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
    /// How the network was made and which layer did each fault (namespace meshes).
    public var networkNotes: [String] = []
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

/// Launches a topology as real `rumor node` processes, on loopback or each in a network namespace of its
/// own (`NamespaceBench`), publishes its workload, carries out its churn plan, polls every node's status
/// and deliveries, and tears everything down at the end or on Ctrl-C. The observation it records is judged
/// by the same `RunEvaluation` as a simulated run.
public final class MeshRunner: Sendable {
    let topology: Topology
    let plan: ChurnPlan
    let options: MeshOptions
    /// `rumor-node` beside `options.executable`, found once at launch.
    private let nodeExecutable: String
    let interruption = Interruption()
    /// The namespace bench, for `network: namespaces`; nil on loopback.
    let bench: NamespaceBench?

    public init(topology: Topology, options: MeshOptions) throws {
        nodeExecutable = try NodeExecutable.locate(beside: options.executable)
        self.topology = topology
        self.plan = try ChurnPlanner(topology: topology).plan()
        self.options = options
        bench = topology.network.isNamespaces ? try NamespaceBench(topology: topology, plan: plan, rumorExecutable: options.executable) : nil
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
            try await bench?.prepare(eventLoop: eventLoop)
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
        var pids: [String: pid_t] = [:]
        for node in await state.liveNodeIDs.sorted() {
            guard let process = await state.process(of: node) else { continue }
            pids[node] = process.pid
            if var figures = ProcessStats.read(pid: process.pid) {
                figures.node = node
                stats.append(figures)
            }
        }
        // Failures each node marked, for the `false failures` check: read from the nodes still running (a
        // killed node's record goes with it).
        for node in await state.liveNodeIDs.sorted() {
            guard let current = await current(node, state: state), let lines = try? await admin.memberEvents(of: current) else { continue }
            await state.recordMemberFailures(lines, seenBy: node)
        }
        if bench != nil { await state.recordIPv4Sockets(NamespaceBench.ipv4Sockets(of: pids)) }
        await tearDown(state: state)
        view.finish()
        let observation = await state.finishObservation()
        let evaluation = RunEvaluation(observation: observation, checks: topology.checks)
        var problems = await state.problems
        if interruption.isInterrupted { problems.append("interrupted before the end of the run") }
        var result = MeshResult(topology: topology, plan: plan, observation: observation, evaluation: evaluation,
                                problems: problems, interrupted: interruption.isInterrupted)
        result.processStats = stats
        result.networkNotes = bench?.layerNotes ?? []
        return result
    }

    /// Sleeps in short slices, so that Ctrl-C is acted on within a tenth of a second.
    func pause(for duration: Duration) async {
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

    private func arguments(for node: MeshNode, state: MeshState) async -> [String] {
        var arguments = bench?.placement(of: node) ?? ["--listen", "\(node.address)", "--admin", "\(node.admin)"]
        arguments += ["--id", node.id, "--exit-with-parent", "--log-level", options.nodeLogLevel]
        if let versions = node.wireVersions, await !state.upgradedNodeIDs.contains(node.id) {
            arguments += ["--wire-versions", "\(versions.lowerBound)-\(versions.upperBound)"]
        }
        if let seedName = bench?.seedName { arguments += ["--seed", seedName] }
        for seed in node.seeds {
            if let address = await current(seed, state: state)?.address { arguments += ["--seed", "\(address)"] }
        }
        var links = topology.links
        // On the namespace bench loss is the kernel's; the nodes only delay.
        if bench != nil { links.loss = 0 }
        if !links.isUnchanged {
            arguments += ["--link-latency-ms", "\(Double(links.latency.nanosecondsRounded) / 1e6)",
                          "--link-jitter-ms", "\(Double(links.jitter.nanosecondsRounded) / 1e6)", "--link-loss", "\(links.loss)"]
        }
        return arguments + options.extraNodeArguments
    }

    /// The node of that id where it runs now (or last ran): a `move` gives it a new address.
    func current(_ id: String, state: MeshState) async -> MeshNode? {
        await state.incarnation(of: id) ?? plan.node(id)
    }

    func spawn(_ node: MeshNode, state: MeshState) async throws {
        let nodeArguments = await arguments(for: node, state: state)
        let command = bench?.command(for: node, nodeExecutable: nodeExecutable, arguments: nodeArguments)
            ?? (executable: nodeExecutable, arguments: nodeArguments)
        let process = try NodeProcess(executable: command.executable, arguments: command.arguments, logFile: logFile(of: node), node: node.id)
        await state.started(node, process: process)
        try await bench?.placed(node)
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
        // The namespaces go once nothing runs in them (destroy would kill what still did).
        await bench?.tearDown()
    }

    // MARK: Workload

    private func publish(state: MeshState, admin: NodeAdmin) async {
        var schedule = PublishSchedule(topology: topology)
        for (index, time) in schedule.times.enumerated() {
            guard !interruption.isInterrupted else { return }
            let wait = time - state.elapsed
            if wait > .zero { await pause(for: wait) }
            guard let chosen = schedule.origin(among: await state.readyNodeIDs, allNodes: plan.nodes),
                  let origin = await current(chosen.id, state: state) else { continue }
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
        var nodes: [MeshNode] = []
        for id in await state.liveNodeIDs.sorted() where only?.contains(id) ?? true {
            if let node = await current(id, state: state) { nodes.append(node) }
        }
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
}
