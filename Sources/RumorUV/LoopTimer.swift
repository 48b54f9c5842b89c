import CLibUV

/// A one-shot libuv timer that calls `fire` on the loop thread; rescheduling moves it.
final class LoopTimer: LoopHandle {
    private var fire: () -> Void

    init(eventLoop: EventLoop, fire: @escaping () -> Void) {
        self.fire = fire
        super.init(eventLoop: eventLoop, allocating: uv_timer_t.self)
        uv_timer_init(eventLoop.loop, timer)
        retainThroughHandle()
    }

    private var timer: UnsafeMutablePointer<uv_timer_t> { rawHandle.assumingMemoryBound(to: uv_timer_t.self) }

    func schedule(after delay: Duration) {
        guard !isClosing else { return }
        let milliseconds = UInt64(max(0, (delay.nanosecondsRounded + 999_999) / 1_000_000))
        uv_timer_start(timer, { timer in
            LoopHandle.owner(of: timer.map(UnsafeMutableRawPointer.init), as: LoopTimer.self)?.fire()
        }, milliseconds, 0)
    }

    func cancel() {
        guard !isClosing else { return }
        uv_timer_stop(timer)
    }

    override func didClose() { fire = {} }
}
