import Foundation
import RumorCore
import RumorTopology
import Synchronization

/// How the launcher talks to the terminal.
public enum MeshDisplay: Sendable {
    /// A few lines redrawn in place twice a second (a terminal).
    case live
    /// One line per churn step and a status line every 5 seconds (a log, a pipe).
    case lines
    case quiet
}

/// The launcher's view of a running mesh: nodes up, active-view sizes, components, deliveries, and a
/// progress bar through the schedule.
final class LiveView: Sendable {
    let topology: Topology
    let plan: ChurnPlan
    let display: MeshDisplay
    private let linesDrawn = LockedCounter()

    init(topology: Topology, plan: ChurnPlan, display: MeshDisplay) {
        self.topology = topology
        self.plan = plan
        self.display = display
    }

    func announce(_ message: String) {
        switch display {
        case .quiet: return
        case .lines: print("  \(message)")
        case .live:
            eraseDrawn()
            print("  \(message)")
        }
        fflush(nil)
    }

    func run(state: MeshState, until duration: Duration, interruption: Interruption) async {
        guard display != .quiet else { return }
        let period: Duration = display == .live ? .milliseconds(500) : .seconds(5)
        while state.elapsed < duration, !interruption.isInterrupted {
            try? await Task.sleep(for: period)
            let lines = await describe(state: state)
            if display == .live {
                eraseDrawn()
                for line in lines { print(line) }
                linesDrawn.set(lines.count)
            } else {
                print("  " + lines.dropFirst().joined(separator: " | "))
            }
            fflush(nil)
        }
    }

    func finish() {
        if display == .live { eraseDrawn() }
    }

    private func eraseDrawn() {
        let count = linesDrawn.set(0)
        guard count > 0 else { return }
        // Up `count` lines, then clear to the end of the screen.
        print("\u{1B}[\(count)A\u{1B}[J", terminator: "")
    }

    private func describe(state: MeshState) async -> [String] {
        let elapsed = state.elapsed
        let live = await state.liveNodeIDs
        let views = await state.latestViews
        let published = await state.publicationCount
        let deliveries = await state.deliveryCount
        let sizes = views.values.map(\.count)
        let graph = RunObservation.Snapshot(at: elapsed, views: views).graph(live: live)
        let deadEntries = views.values.reduce(0) { $0 + $1.filter { !live.contains($0) }.count }
        let share = min(1, elapsed.seconds / max(0.001, topology.duration.seconds))
        let width = 30
        let filled = Int(share * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let next = plan.steps.first { $0.at > elapsed }.map { "next: \($0.label) at \(DurationText.format($0.at))" } ?? "no more churn"
        let activeText = sizes.isEmpty ? "-" : "\(sizes.min()!)–\(sizes.max()!) (mean \(String(format: "%.1f", Double(sizes.reduce(0, +)) / Double(sizes.count))))"
        return [
            "  [\(bar)] \(String(format: "%5.1f", elapsed.seconds)) s / \(DurationText.format(topology.duration))   \(next)",
            "  nodes up \(live.count)   answering \(views.count)   active views \(activeText)   components \(graph.components().count)   dead entries \(deadEntries)",
            "  published \(published)   deliveries \(deliveries)   last change: \(await state.lastEvent ?? "none")",
        ]
    }
}

/// A small counter shared between the display task and announcements.
final class LockedCounter: Sendable {
    private let value = Mutex<Int>(0)
    /// Sets the value and returns the previous one.
    @discardableResult
    func set(_ newValue: Int) -> Int { value.withLock { old in defer { old = newValue }; return old } }
}
