import CLibUV
import RumorCore

/// A listening TCP socket that hands each accepted stream to `accept`.
package final class TCPListener: LoopHandle {
    private var accept: (TCPListener) -> Void
    package private(set) var boundAddress: PeerAddress?

    package init(eventLoop: EventLoop, address: PeerAddress, backlog: Int32 = 511, accept: @escaping (TCPListener) -> Void) throws(UVError) {
        self.accept = accept
        super.init(eventLoop: eventLoop, allocating: uv_tcp_t.self)
        uv_tcp_init(eventLoop.loop, tcp)
        retainThroughHandle()
        do throws(UVError) {
            let socketAddress = try SocketAddress(address)
            try check(socketAddress.withSockaddr { uv_tcp_bind(tcp, $0, 0) }, "binding \(address)")
            try check(uv_listen(rawHandle.assumingMemoryBound(to: uv_stream_t.self), backlog) { server, status in
                guard status >= 0, let listener = LoopHandle.owner(of: server.map(UnsafeMutableRawPointer.init), as: TCPListener.self) else { return }
                listener.accept(listener)
            }, "listening on \(address)")
        } catch {
            close()
            throw error
        }
        var bound = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(tcp, $0, &length) }
        }
        if let (host, port) = SocketAddress.describe(bound) { boundAddress = PeerAddress(host: host, port: port) }
    }

    private var tcp: UnsafeMutablePointer<uv_tcp_t> { rawHandle.assumingMemoryBound(to: uv_tcp_t.self) }

    /// Accepts the waiting stream into `connection`; false if it was gone.
    package func acceptInto(_ connection: LoopHandle) -> Bool {
        uv_accept(rawHandle.assumingMemoryBound(to: uv_stream_t.self),
                  connection.rawHandle.assumingMemoryBound(to: uv_stream_t.self)) == 0
    }

    override func didClose() { accept = { _ in } }
}

/// One outbound connect with a deadline: reports exactly once, with the connected handle or the reason.
package final class TCPConnector {
    private let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
    private let target: LoopHandle
    private var timer: LoopTimer?
    private var completion: ((Result<Void, ConnectError>) -> Void)?

    package struct ConnectError: Error, CustomStringConvertible {
        package var description: String
        /// The host answered that nothing listens there (ECONNREFUSED): the process is gone, not slow.
        package var refused = false
    }

    /// Connects `handle` (an initialised, unconnected TCP handle) to `address`.
    package init(handle: LoopHandle, address: PeerAddress, timeout: Duration, completion: @escaping (Result<Void, ConnectError>) -> Void) {
        target = handle
        self.completion = completion
        let socketAddress: SocketAddress
        do throws(UVError) {
            socketAddress = try SocketAddress(address)
        } catch {
            request.deallocate()
            finish(.failure(ConnectError(description: error.description)))
            return
        }
        // The request keeps this connector alive until libuv reports it done (even when cancelled).
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        let result = socketAddress.withSockaddr {
            uv_tcp_connect(request, handle.rawHandle.assumingMemoryBound(to: uv_tcp_t.self), $0) { request, status in
                guard let request, let data = request.pointee.data else { return }
                let connector = Unmanaged<TCPConnector>.fromOpaque(data).takeRetainedValue()
                connector.request.deallocate()
                connector.finish(status == 0 ? .success(()) : .failure(ConnectError(description: describeUVError(status),
                                                                                     refused: status == UV_ECONNREFUSED.rawValue)))
            }
        }
        if result < 0 {
            Unmanaged<TCPConnector>.fromOpaque(request.pointee.data!).release()
            request.deallocate()
            finish(.failure(ConnectError(description: describeUVError(result), refused: result == UV_ECONNREFUSED.rawValue)))
            return
        }
        let timer = LoopTimer(eventLoop: handle.eventLoop) { [weak self] in
            guard let self, self.completion != nil else { return }
            // Closing the handle cancels the connect; its callback then runs with UV_ECANCELED.
            self.finish(.failure(ConnectError(description: "timed out after \(timeout)")))
        }
        timer.schedule(after: timeout)
        self.timer = timer
    }

    private func finish(_ result: Result<Void, ConnectError>) {
        timer?.close()
        timer = nil
        guard let completion else { return }
        self.completion = nil
        if case .failure = result { target.close() }
        completion(result)
    }
}
