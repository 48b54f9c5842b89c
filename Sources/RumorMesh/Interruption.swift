import Dispatch
import Glibc
import Synchronization

/// Ctrl-C and SIGTERM while a mesh runs: noted here, so that every task winds down and the launcher
/// tears the mesh down with no process left behind, instead of dying with its nodes still up.
/// `sources` is touched only by the launcher's own task, when it starts and when it ends.
final class Interruption: @unchecked Sendable {
    private let interrupted = Atomic<Bool>(false)
    private var sources: [any DispatchSourceSignal] = []

    var isInterrupted: Bool { interrupted.load(ordering: .relaxed) }

    func watchSignals() {
        let watched = [SIGINT, SIGTERM].map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                if interrupted.exchange(true, ordering: .relaxed) {
                    // A second Ctrl-C: the user insists; the nodes' parent watch takes them down.
                    _exit(130)
                }
            }
            source.resume()
            return source
        }
        sources = watched
    }

    func stopWatching() {
        for source in sources { source.cancel() }
        sources.removeAll()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
