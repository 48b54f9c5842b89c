import CLibUV
import Glibc

/// Waits on the loop for SIGINT or SIGTERM, the signals that ask a node to leave.
final class SignalWatcher: LoopHandle {
    private var received: (Int32) -> Void

    init(eventLoop: EventLoop, signal: Int32, received: @escaping (Int32) -> Void) {
        self.received = received
        super.init(eventLoop: eventLoop, allocating: uv_signal_t.self)
        let handle = rawHandle.assumingMemoryBound(to: uv_signal_t.self)
        uv_signal_init(eventLoop.loop, handle)
        retainThroughHandle()
        uv_signal_start(handle, { handle, number in
            LoopHandle.owner(of: handle.map(UnsafeMutableRawPointer.init), as: SignalWatcher.self)?.received(number)
        }, signal)
    }

    override func didClose() { received = { _ in } }
}

extension EventLoop {
    /// Returns the first of SIGINT or SIGTERM to arrive, or nil if the loop shuts down before either does
    /// (so a waiter for a second signal is not left suspended when the node exits).
    public func waitForTerminationSignal() async -> TerminationSignal? {
        await withCheckedContinuation { continuation in
            let queued = execute {
                let wait = SignalWait(continuation)
                for signal in [SIGINT, SIGTERM] {
                    wait.watchers.append(SignalWatcher(eventLoop: self, signal: signal) { wait.finish(TerminationSignal(number: $0)) })
                }
                self.onShutdown { wait.finish(nil) }
            }
            if !queued { continuation.resume(returning: nil) }
        }
    }
}

/// A signal that asks the node to leave, named as operators write it.
public struct TerminationSignal: Sendable, CustomStringConvertible {
    public var number: Int32
    public var description: String {
        switch number {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(number)"
        }
    }
}

/// One wait for a termination signal: resumed once, by the first signal or by the loop's shutdown (loop thread only).
private final class SignalWait {
    var watchers: [SignalWatcher] = []
    private var continuation: CheckedContinuation<TerminationSignal?, Never>?

    init(_ continuation: CheckedContinuation<TerminationSignal?, Never>) { self.continuation = continuation }

    func finish(_ signal: TerminationSignal?) {
        guard let continuation else { return }
        self.continuation = nil
        for watcher in watchers { watcher.close() }
        continuation.resume(returning: signal)
    }
}
