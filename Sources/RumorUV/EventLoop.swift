import CLibUV
import Glibc
import Synchronization

/// A libuv loop on a thread of its own. Swift's cooperative pool must never block in `uv_run` (it has two
/// threads here), so the loop gets a dedicated pthread; other threads reach it only through `execute`,
/// which queues work under a mutex and wakes the loop with `uv_async_send`, libuv's one thread-safe call.
public final class EventLoop: @unchecked Sendable {
    let loop: UnsafeMutablePointer<uv_loop_t>
    private let wakeup: UnsafeMutablePointer<uv_async_t>
    private let queue = Mutex<(work: [@Sendable () -> Void], closed: Bool)>(([], false))
    private var thread: pthread_t?
    private let loopThreadID = Mutex<pthread_t?>(nil)
    private var shutdownHooks: [() -> Void] = []
    /// The result of `uv_loop_close` at shutdown: 0 when every handle was closed.
    public private(set) var closeResult: Int32 = 0

    public init() throws(UVError) {
        // A peer that resets a link mid-write must cost the write, not the process.
        signal(SIGPIPE, SIG_IGN)
        loop = .allocate(capacity: 1)
        wakeup = .allocate(capacity: 1)
        try check(uv_loop_init(loop), "uv_loop_init")
        try check(uv_async_init(loop, wakeup) { async in
            guard let async, let data = async.pointee.data else { return }
            Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().runQueuedWork()
        }, "uv_async_init")
        // Unretained: the loop object outlives its thread, which `shutdown` joins.
        wakeup.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        loop.deallocate()
        wakeup.deallocate()
    }

    /// Starts the loop thread.
    public func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let eventLoop = Unmanaged<EventLoop>.fromOpaque(context!).takeRetainedValue()
            eventLoop.loopThreadID.withLock { $0 = pthread_self() }
            uv_run(eventLoop.loop, UV_RUN_DEFAULT)
            eventLoop.finishOnLoopThread()
            return nil
        }, context)
        precondition(result == 0, "pthread_create failed with \(result)")
        self.thread = thread
    }

    public var isOnLoopThread: Bool {
        loopThreadID.withLock { id in id.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// Runs `work` on the loop thread, soon. Work queued after shutdown began is dropped (and false returned).
    @discardableResult
    public func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
        let accepted = queue.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.work.append(work)
            return true
        }
        if accepted { uv_async_send(wakeup) }
        return accepted
    }

    /// Runs `work` on the loop thread and waits for its result. Never call it from the loop thread.
    public func submit<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            execute { continuation.resume(returning: work()) }
        }
    }

    /// Registers something to close when the loop shuts down (loop thread only).
    func onShutdown(_ hook: @escaping () -> Void) {
        shutdownHooks.append(hook)
    }

    private func runQueuedWork() {
        let work = queue.withLock { state -> [@Sendable () -> Void] in
            defer { state.work.removeAll() }
            return state.work
        }
        for item in work { item() }
    }

    /// Closes every handle, lets the loop finish and joins its thread. Idempotent; call from any thread but
    /// the loop's own.
    public func shutdown() {
        precondition(!isOnLoopThread, "shutdown() would join its own thread")
        guard let thread else { return }
        let alreadyClosed = queue.withLock { state -> Bool in
            defer { state.closed = true }
            state.work.append { [self] in beginShutdown() }
            return state.closed
        }
        if !alreadyClosed { uv_async_send(wakeup) }
        pthread_join(thread, nil)
        self.thread = nil
    }

    private func beginShutdown() {
        for hook in shutdownHooks.reversed() { hook() }
        shutdownHooks.removeAll()
        // Anything still open is closed through its owner, so owners release their references.
        uv_walk(loop, { handle, _ in
            guard let handle, uv_is_closing(handle) == 0, let data = handle.pointee.data else { return }
            let owner = Unmanaged<AnyObject>.fromOpaque(data).takeUnretainedValue()
            (owner as? LoopHandle)?.close()
        }, nil)
        wakeup.withMemoryRebound(to: uv_handle_t.self, capacity: 1) { uv_close($0, nil) }
    }

    private func finishOnLoopThread() {
        // Work queued between the last wake-up and the close of the async handle is dropped here.
        queue.withLock { $0.work.removeAll() }
        closeResult = uv_loop_close(loop)
    }

    /// Monotonic time in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 { uv_hrtime() }
}
