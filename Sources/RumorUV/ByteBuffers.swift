import Glibc

/// Bytes queued for one `uv_write`: raw memory, because libuv holds the pointer until the write completes
/// and a Swift array could move under it.
struct OutboundBuffer {
    private(set) var base: UnsafeMutableRawPointer?
    private(set) var count = 0
    private(set) var capacity = 0

    var isEmpty: Bool { count == 0 }

    /// Room for `size` more bytes at the end; the caller fills them and calls `commit`.
    mutating func reserve(_ size: Int) -> UnsafeMutableRawBufferPointer {
        if count + size > capacity {
            let newCapacity = max(capacity * 2, count + size, 4096)
            base = realloc(base, newCapacity)
            precondition(base != nil, "out of memory growing an outbound buffer to \(newCapacity) bytes")
            capacity = newCapacity
        }
        return UnsafeMutableRawBufferPointer(start: base! + count, count: size)
    }

    mutating func commit(_ size: Int) { count += size }

    /// Empties the buffer; a buffer grown far past its usual need gives the memory back.
    mutating func reset(keepingAtMost limit: Int) {
        count = 0
        if capacity > limit {
            free(base)
            base = nil
            capacity = 0
        }
    }

    mutating func release() {
        free(base)
        base = nil
        count = 0
        capacity = 0
    }
}

/// A connection's read buffer: libuv reads into the free space at the end, whole frames are decoded from
/// the front, and a partial frame is moved to the front before the next read when room runs short.
struct ReceiveBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var capacity: Int
    /// The first byte not yet consumed.
    private(set) var start = 0
    /// One past the last byte read.
    private(set) var end = 0
    let minimumReadSize: Int
    let initialCapacity: Int

    init(capacity: Int, minimumReadSize: Int) {
        self.capacity = capacity
        self.initialCapacity = capacity
        self.minimumReadSize = minimumReadSize
        base = malloc(capacity)!
    }

    var unconsumed: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + start, count: end - start) }

    /// Free space for the next read, at least `minimumReadSize` bytes, and room for a frame of
    /// `pendingFrameSize` bytes (already checked against the frame limit) to arrive whole.
    mutating func spaceForRead(pendingFrameSize: Int) -> UnsafeMutableRawBufferPointer {
        let needed = max(pendingFrameSize, minimumReadSize)
        if capacity - end < minimumReadSize || capacity - start < needed {
            if start > 0 {
                memmove(base, base + start, end - start)
                end -= start
                start = 0
            }
            if capacity - end < minimumReadSize || capacity < needed {
                let newCapacity = max(capacity * 2, needed + minimumReadSize)
                base = realloc(base, newCapacity)!
                capacity = newCapacity
            }
        }
        return UnsafeMutableRawBufferPointer(start: base + end, count: capacity - end)
    }

    mutating func didRead(_ count: Int) { end += count }

    mutating func consume(_ count: Int) {
        start += count
        if start == end {
            start = 0
            end = 0
            // A buffer grown for one large frame shrinks back once it is empty.
            if capacity > 4 * initialCapacity {
                free(base)
                base = malloc(initialCapacity)!
                capacity = initialCapacity
            }
        }
    }

    func release() { free(base) }
}
