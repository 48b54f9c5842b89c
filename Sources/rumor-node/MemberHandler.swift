import Logging
import RumorCore
import RumorUV
import Synchronization

/// `--on-member 'failed,left=CMD'`: runs CMD once per batch of member events of the kinds named (every kind
/// when none is), within 100 ms of the first event of the batch: one member a line on standard input in
/// Serf's format (id, address, status, tags as k=v,k=v, tab-separated), `RUMOR_EVENT` naming the kind. A batch
/// holding several kinds runs CMD once per kind. No 3 s coalescing as Serf's: it dropped 19 of 20 events.
struct MemberHandler {
    static let batchWindow: Duration = .milliseconds(100)

    let kinds: Set<MemberEvent.Kind>
    let command: ShellCommand
    let logger: Logger

    /// `KINDS=CMD` or `CMD`; nil with the reason when a kind is unknown.
    static func parse(_ text: String, logger: Logger) -> Result<MemberHandler, ParseError> {
        var kinds = Set(MemberEvent.Kind.allCases)
        var command = text
        if let equals = text.firstIndex(of: "="), let names = Optional(text[..<equals]),
           names.allSatisfy({ $0.isLetter || $0 == "," }), !names.isEmpty {
            var chosen: Set<MemberEvent.Kind> = []
            for name in names.split(separator: ",") {
                guard let kind = MemberEvent.Kind(rawValue: String(name)) else {
                    return .failure(ParseError(description: "--on-member: unknown event '\(name)' (known: \(MemberEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"))
                }
                chosen.insert(kind)
            }
            kinds = chosen
            command = String(text[text.index(after: equals)...])
        }
        guard command.contains(where: { !$0.isWhitespace }) else { return .failure(ParseError(description: "--on-member needs a command")) }
        return .success(MemberHandler(kinds: kinds, command: ShellCommand(command: command, option: "--on-member", logger: logger), logger: logger))
    }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the stream into a bounded batch while the previous batch's command runs, and hands each batch
    /// over once its window closes. What the stream or the batch had to skip is logged with its count.
    func run(_ stream: MemberEventStream, buffer: Int = 1024) async {
        let pending = PendingBatch()
        let kinds = kinds
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in stream {
                    pending.state.withLock { state in
                        switch event {
                        case .lagged(let missed): state.skipped += missed
                        case .record(let recorded):
                            guard kinds.contains(recorded.event.kind) else { return }
                            if state.events.count < buffer { state.events.append(recorded) } else { state.skipped += 1 }
                        }
                    }
                }
                pending.state.withLock { $0.ended = true }
            }
            group.addTask {
                while true {
                    try? await Task.sleep(for: Self.batchWindow)
                    let (batch, skipped, ended) = pending.state.withLock { state in
                        defer { state.events.removeAll(); state.skipped = 0 }
                        return (state.events, state.skipped, state.ended)
                    }
                    if skipped > 0 { logger.warning("--on-member handler fell behind: member events skipped", metadata: ["missed": "\(skipped)"]) }
                    handle(batch)
                    if ended { return }
                }
            }
        }
    }

    private func handle(_ batch: [RecordedMemberEvent]) {
        for kind in MemberEvent.Kind.allCases {
            let events = batch.filter { $0.event.kind == kind }
            guard !events.isEmpty else { continue }
            let lines = events.map { recorded in
                let entry = recorded.event.entry
                let tags = entry.tags.description
                return "\(entry.id)\t\(entry.peer.address)\t\(entry.status)\t\(tags)\n"
            }.joined()
            let status = command.run(input: Array(lines.utf8), environment: ["RUMOR_EVENT=\(kind.rawValue)", "RUMOR_MEMBERS=\(events.count)"])
            if let status, status != 0 {
                logger.warning("--on-member handler failed", metadata: ["event": "\(kind.rawValue)", "status": "\(ChildProcess.describe(waitStatus: status))"])
            }
        }
    }
}

/// Member events read from the stream and not yet handed to the command, shared by the reader and the batcher.
private final class PendingBatch: Sendable {
    let state = Mutex<(events: [RecordedMemberEvent], skipped: Int, ended: Bool)>(([], 0, false))
}
