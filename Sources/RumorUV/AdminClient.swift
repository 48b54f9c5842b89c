import CLibUV
import RumorCore

/// A one-request HTTP/1.1 client for talking to a node's admin endpoint from the command line and tests.
public enum AdminClient {
    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// One request on a loop of its own (started and shut down here), or on `eventLoop` when given, so
    /// that a caller making many requests (a mesh launcher polling every node) keeps one loop thread.
    public static func request(_ method: String = "GET", _ path: String, to address: PeerAddress, body: [UInt8] = [],
                               timeout: Duration = .seconds(5), using sharedLoop: EventLoop? = nil) async throws -> Reply {
        let eventLoop: EventLoop
        if let sharedLoop {
            eventLoop = sharedLoop
        } else {
            eventLoop = try EventLoop()
            eventLoop.start()
        }
        defer { if sharedLoop == nil { eventLoop.shutdown() } }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n"
        head += "Content-Length: \(body.count)\r\n\r\n"
        let request = Array(head.utf8) + body
        let result: Result<Reply, Failure> = await withCheckedContinuation { continuation in
            eventLoop.execute {
                ClientExchange(eventLoop: eventLoop, address: address, request: request, timeout: timeout) {
                    continuation.resume(returning: $0)
                }.begin()
            }
        }
        return try result.get()
    }
}

/// Connect, write the request, read the response to its end; reports once.
private final class ClientExchange: LoopHandle {
    private let address: PeerAddress
    private var request: OutboundBuffer
    private let timeout: Duration
    private var completion: ((Result<AdminClient.Reply, AdminClient.Failure>) -> Void)?
    private let parser = HTTPMessageParser(kind: .response, maximumSize: 64 << 20)
    private var readBuffer = OutboundBuffer()
    private let writeRequest = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
    private var timer: LoopTimer?

    init(eventLoop: EventLoop, address: PeerAddress, request: [UInt8], timeout: Duration,
         completion: @escaping (Result<AdminClient.Reply, AdminClient.Failure>) -> Void) {
        self.address = address
        self.timeout = timeout
        self.completion = completion
        self.request = OutboundBuffer()
        let space = self.request.reserve(request.count)
        space.copyBytes(from: request)
        self.request.commit(request.count)
        super.init(eventLoop: eventLoop, allocating: uv_tcp_t.self)
        uv_tcp_init(eventLoop.loop, rawHandle.assumingMemoryBound(to: uv_tcp_t.self))
        retainThroughHandle()
    }

    private var stream: UnsafeMutablePointer<uv_stream_t> { rawHandle.assumingMemoryBound(to: uv_stream_t.self) }

    func begin() {
        let timer = LoopTimer(eventLoop: eventLoop) { [weak self] in
            guard let self else { return }
            self.finish(.failure(.init(description: "no answer from \(self.address) within \(self.timeout)")))
        }
        timer.schedule(after: timeout)
        self.timer = timer
        _ = TCPConnector(handle: self, address: address, timeout: timeout) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success: self.send()
            case .failure(let error): self.finish(.failure(.init(description: "cannot reach \(self.address): \(error)")))
            }
        }
    }

    private func send() {
        var buffer = uv_buf_init(request.base!.assumingMemoryBound(to: CChar.self), UInt32(request.count))
        writeRequest.pointee.data = handle.pointee.data
        let result = uv_write(writeRequest, stream, &buffer, 1) { request, status in
            guard status < 0, let data = request?.pointee.data,
                  let exchange = Unmanaged<LoopHandle>.fromOpaque(data).takeUnretainedValue() as? ClientExchange else { return }
            exchange.finish(.failure(.init(description: "sending the request failed: \(describeUVError(status))")))
        }
        guard result >= 0 else {
            finish(.failure(.init(description: "sending the request failed: \(describeUVError(result))")))
            return
        }
        uv_read_start(stream, { handle, _, buffer in
            guard let exchange = LoopHandle.owner(of: handle.map(UnsafeMutableRawPointer.init), as: ClientExchange.self),
                  let buffer else { return }
            let space = exchange.readBuffer.reserve(64 << 10)
            buffer.pointee = uv_buf_init(space.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(space.count))
        }, { stream, count, buffer in
            LoopHandle.owner(of: stream.map(UnsafeMutableRawPointer.init), as: ClientExchange.self)?
                .didRead(count, base: buffer?.pointee.base)
        })
    }

    private func didRead(_ count: Int, base: UnsafeMutablePointer<CChar>?) {
        do throws(HTTPMessageParser.ParseError) {
            if count < 0 {
                // End of stream: a response without a length ends here.
                try parser.feed(UnsafeRawBufferPointer(start: nil, count: 0))
                guard parser.isComplete else {
                    finish(.failure(.init(description: "connection closed before a whole response arrived")))
                    return
                }
            } else {
                try parser.feed(UnsafeRawBufferPointer(start: base, count: count))
            }
        } catch {
            finish(.failure(.init(description: "bad response: \(error)")))
            return
        }
        if parser.isComplete { finish(.success(.init(status: parser.statusCode, body: parser.body))) }
    }

    private func finish(_ result: Result<AdminClient.Reply, AdminClient.Failure>) {
        guard let completion else { return }
        self.completion = nil
        timer?.close()
        timer = nil
        close()
        completion(result)
    }

    override func didClose() {
        request.release()
        readBuffer.release()
        writeRequest.deallocate()
    }
}
