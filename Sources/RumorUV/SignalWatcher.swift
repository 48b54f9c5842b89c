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
    /// Returns the first of SIGINT or SIGTERM to arrive.
    public func waitForTerminationSignal() async -> Int32 {
        await withCheckedContinuation { continuation in
            execute {
                var watchers: [SignalWatcher] = []
                var resumed = false
                for signal in [SIGINT, SIGTERM] {
                    watchers.append(SignalWatcher(eventLoop: self, signal: signal) { number in
                        guard !resumed else { return }
                        resumed = true
                        for watcher in watchers { watcher.close() }
                        continuation.resume(returning: number)
                    })
                }
            }
        }
    }
}
