import RumorCore
import RumorTopology

/// Carrying out a churn plan on a live mesh: the processes (kill, restart, freeze, add, move) and the
/// faults, on loopback by each node's link shaping, on the namespace bench by the kernel.
extension MeshRunner {
    func carryOutPlan(state: MeshState, admin: NodeAdmin, view: LiveView) async {
        var shapes: [LinkShape] = []
        for step in plan.steps {
            let wait = step.at - state.elapsed
            if wait > .zero { await pause(for: wait) }
            guard !interruption.isInterrupted else { return }
            switch step.change {
            case .kill(let victims):
                // No new message may start on a node about to die; then its deliveries so far, as its log dies with it.
                await stopTaking(victims, state: state, admin: admin)
                for victim in victims { await state.ended(victim, unexpectedly: false) }
            case .restart(let ids):
                for id in ids { if let node = await current(id, state: state) { await start(node, state: state, admin: admin, shapes: shapes) } }
            case .upgrade(let ids):
                // As an operator's rolling restart: each leaves politely (SIGTERM), then runs again on the new version.
                await stopTaking(ids, state: state, admin: admin)
                var stopping: [NodeProcess] = []
                for id in ids { if let process = await state.process(of: id) { stopping.append(process) } }
                for process in stopping { process.terminate() }
                for process in stopping { await process.waitOrKill(timeout: .seconds(3)) }
                for id in ids { await state.ended(id, unexpectedly: false) }
                await state.markUpgraded(ids)
                for id in ids { if let node = await current(id, state: state) { await start(node, state: state, admin: admin, shapes: shapes) } }
            case .freeze(let ids):
                // Their deliveries so far first: a frozen node answers no poll.
                await stopTaking(ids, state: state, admin: admin)
                for id in ids { await state.froze(id) }
            case .thaw(let ids):
                for id in ids { await state.thawed(id) }
            case .add(let nodes):
                for node in nodes { await start(node, state: state, admin: admin, shapes: shapes) }
            case .move(let incarnations):
                // A pod rescheduled onto another address: gone at once, back under the same id elsewhere.
                await stopTaking(incarnations.map(\.id), state: state, admin: admin)
                for node in incarnations {
                    await state.ended(node.id, unexpectedly: false)
                    await start(node, state: state, admin: admin, shapes: shapes)
                }
            case .partition(let groups):
                if let bench {
                    await noting(state) { try await bench.partition(groups.map { self.slots(of: $0) }) }
                } else {
                    let live = await state.readyNodeIDs
                    for group in groups {
                        let members = Set(group)
                        let outsiders = plan.nodes.filter { !members.contains($0.id) }.map(\.address)
                        await eachNode(group.filter(live.contains), admin: admin, state: state) { node in
                            try await admin.setLinks(on: node, peers: outsiders, to: .cut)
                        }
                    }
                }
            case .cut(let from, let to):
                if let bench { await noting(state) { try await bench.cut(from: self.slots(of: from), to: self.slots(of: to)) } }
            case .heal:
                if let bench {
                    let placed = await currentSlots(state: state)
                    await noting(state) { try await bench.heal(currentSlots: placed) }
                } else {
                    // Back to the default, then any slowed links again: a heal ends the cut, not the slowness.
                    let live = await state.readyNodeIDs
                    let everyone = plan.nodes.map(\.address)
                    let standing = shapes
                    await eachNode(Array(live), admin: admin, state: state) { node in
                        try await admin.setLinks(on: node, peers: everyone, to: nil)
                        try await self.applyShapes(standing, to: node, admin: admin)
                    }
                }
            case .shapeLinks(let nodes, var conditions, let onlyAmong):
                if let bench, conditions.loss > 0 {
                    // The kernel drops packets per node; the planner refused loss on a single link here.
                    let placed = await currentSlots(state: state)
                    let share = conditions.loss
                    await noting(state) { try await bench.impose(loss: share, on: nodes, currentSlots: placed) }
                    conditions.loss = 0
                }
                guard !conditions.isUnchanged || bench == nil else { break }
                let shape = LinkShape(nodes: Set(nodes), conditions: conditions, onlyAmong: onlyAmong)
                shapes.append(shape)
                let live = await state.readyNodeIDs
                await eachNode(Array(live), admin: admin, state: state) { node in
                    try await self.applyShapes([shape], to: node, admin: admin)
                }
            case .rate(let nodes, let limit):
                if let bench {
                    let placed = await currentSlots(state: state)
                    await noting(state) { try await bench.impose(rate: limit, on: nodes, currentSlots: placed) }
                }
            case .dns(_, let addresses):
                if let bench { await noting(state) { try await bench.setSeedRecords(addresses) } }
            }
            await state.recordEvent(step.label, change: step.change)
            view.announce("\(DurationText.format(step.at)): \(step.label)")
        }
    }

    /// Nodes about to stop take no new publish, and what they delivered so far is fetched first.
    private func stopTaking(_ ids: [String], state: MeshState, admin: NodeAdmin) async {
        await state.markLeaving(ids)
        await pollOnce(state: state, admin: admin, takeSnapshot: false, only: Set(ids))
    }

    /// Every namespace slot a node has had: drop rules name them all, so a moved node is cut off too.
    private func slots(of ids: [String]) -> [Int] {
        let wanted = Set(ids)
        return plan.nodes.filter { wanted.contains($0.id) }.map(\.number)
    }

    private func currentSlots(state: MeshState) async -> [String: Int] {
        var placed: [String: Int] = [:]
        for node in plan.nodes { placed[node.id] = await current(node.id, state: state)?.number }
        return placed
    }

    private func noting(_ state: MeshState, _ body: () async throws -> Void) async {
        do { try await body() } catch { await state.noteProblem("\(error)") }
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
        var nodes: [MeshNode] = []
        for id in ids { if let node = await current(id, state: state) { nodes.append(node) } }
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
