import CLibUV
import Glibc

/// One DNS lookup of a host name on libuv's thread pool (`uv_getaddrinfo`): the loop never blocks on the
/// resolver. Reports exactly once, on the loop thread: every A and AAAA address, or why there are none.
/// A lookup that outlives `timeout` is reported as timed out and its late answer is dropped.
final class NameLookup {
    private let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
    private var timer: LoopTimer?
    private var completion: ((Result<[String], LookupFailure>) -> Void)?
    /// Whether libuv has called back (after which `request` is freed).
    private var answered = false

    /// Starts looking `host` up; `completion` runs on the loop thread.
    @discardableResult
    init(eventLoop: EventLoop, host: String, timeout: Duration, completion: @escaping (Result<[String], LookupFailure>) -> Void) {
        self.completion = completion
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        // The request holds this lookup until libuv calls back, which it does even when cancelled.
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let result = uv_getaddrinfo(eventLoop.loop, request, { request, status, answers in
            guard let request, let data = request.pointee.data else { return }
            let lookup = Unmanaged<NameLookup>.fromOpaque(data).takeRetainedValue()
            lookup.answered = true
            let addresses = NameLookup.hosts(in: answers)
            uv_freeaddrinfo(answers)
            lookup.request.deallocate()
            if status < 0 {
                lookup.finish(.failure(LookupFailure(NameLookup.describe(status))))
            } else if addresses.isEmpty {
                lookup.finish(.failure(LookupFailure("no A or AAAA record")))
            } else {
                lookup.finish(.success(addresses))
            }
        }, host, nil, &hints)
        if result < 0 {
            Unmanaged<NameLookup>.fromOpaque(request.pointee.data!).release()
            request.deallocate()
            answered = true
            finish(.failure(LookupFailure(Self.describe(result))))
            return
        }
        let timer = LoopTimer(eventLoop: eventLoop) { [weak self] in
            self?.finish(.failure(LookupFailure("no answer within \(timeout)")))
        }
        timer.schedule(after: timeout)
        self.timer = timer
    }

    /// Gives the lookup up: reported as cancelled now, and dropped from the thread pool if it has not
    /// started there (a loop shutting down must not wait on a resolver that takes seconds).
    func cancel() {
        if !answered {
            // Cancels the request only while it is queued; a running lookup finishes and is ignored.
            request.withMemoryRebound(to: uv_req_t.self, capacity: 1) { _ = uv_cancel($0) }
        }
        finish(.failure(LookupFailure("cancelled")))
    }

    private func finish(_ result: Result<[String], LookupFailure>) {
        timer?.close()
        timer = nil
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }

    /// The distinct addresses of a getaddrinfo answer list, in the resolver's order.
    private static func hosts(in answers: UnsafeMutablePointer<addrinfo>?) -> [String] {
        var found: [String] = []
        var entry = answers
        // Walks the list libuv hands over; it is freed right after this returns.
        while let current = entry {
            if let address = current.pointee.ai_addr {
                var storage = sockaddr_storage()
                let length = min(Int(current.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length)) }
                if let (host, _) = SocketAddress.describe(storage), !found.contains(host) { found.append(host) }
            }
            entry = current.pointee.ai_next
        }
        return found
    }

    /// The resolver's words for a failure: "unknown node or service" is NXDOMAIN.
    private static func describe(_ status: Int32) -> String {
        switch status {
        case UV_EAI_NONAME.rawValue: "no such name (NXDOMAIN)"
        case UV_EAI_AGAIN.rawValue: "temporary failure in name resolution"
        case UV_EAI_NODATA.rawValue: "no address for this name"
        default: describeUVError(status)
        }
    }
}
