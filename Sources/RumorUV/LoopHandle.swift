import CLibUV

/// The owner of one libuv handle. The handle lives on the heap (a pointer libuv may keep), its `data`
/// field holds a retained reference to the owner, and that reference is released only in the close
/// callback, after which libuv no longer touches the memory and it is freed.
/// `package`: the benchmarks (`RumorBench`) drive transports directly; nothing outside this package does.
package class LoopHandle {
    package let eventLoop: EventLoop
    /// The handle's memory, typed as the generic handle; subclasses know its real type.
    let rawHandle: UnsafeMutableRawPointer
    private(set) var isClosing = false

    init<Handle>(eventLoop: EventLoop, allocating _: Handle.Type) {
        self.eventLoop = eventLoop
        rawHandle = UnsafeMutableRawPointer(UnsafeMutablePointer<Handle>.allocate(capacity: 1))
        rawHandle.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Handle>.size)
    }

    var handle: UnsafeMutablePointer<uv_handle_t> { rawHandle.assumingMemoryBound(to: uv_handle_t.self) }

    /// Call once the handle is initialised: from here the handle keeps its owner alive until closed.
    func retainThroughHandle() {
        handle.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Closes the handle; `didClose()` runs when libuv is done with it. Safe to call more than once.
    package func close() {
        guard !isClosing else { return }
        isClosing = true
        willClose()
        if handle.pointee.data == nil {
            // Never initialised with a loop: nothing for libuv to close.
            rawHandle.deallocate()
            return
        }
        uv_close(handle) { handle in
            guard let handle, let data = handle.pointee.data else { return }
            let owner = Unmanaged<LoopHandle>.fromOpaque(data).takeRetainedValue()
            handle.pointee.data = nil
            owner.didClose()
            owner.rawHandle.deallocate()
        }
    }

    /// Runs as the close begins (stop reading, cancel work).
    func willClose() {}
    /// Runs when libuv has finished with the handle.
    func didClose() {}

    /// The owner of a handle libuv passes to a callback.
    static func owner<Owner: LoopHandle>(of handle: UnsafeMutableRawPointer?, as _: Owner.Type) -> Owner? {
        guard let data = handle?.assumingMemoryBound(to: uv_handle_t.self).pointee.data else { return nil }
        return Unmanaged<LoopHandle>.fromOpaque(data).takeUnretainedValue() as? Owner
    }
}

/// A libuv error code as a sentence.
func describeUVError(_ code: Int32) -> String {
    "\(String(cString: uv_err_name(code))): \(String(cString: uv_strerror(code)))"
}

/// A libuv call that failed: which operation, and libuv's error code.
public struct UVError: Error, CustomStringConvertible {
    public var operation: String
    public var code: Int32

    public var description: String { "\(operation) failed: \(describeUVError(code))" }

    /// The same failure, saying which of the node's endpoints it befell.
    func naming(_ endpoint: String) -> UVError { UVError(operation: "\(endpoint): \(operation)", code: code) }
}

@discardableResult
func check(_ result: Int32, _ operation: @autoclosure () -> String) throws(UVError) -> Int32 {
    guard result >= 0 else { throw UVError(operation: operation(), code: result) }
    return result
}
