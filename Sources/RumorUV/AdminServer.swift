import CLibUV
import RumorCore

public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var body: [UInt8]
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ value: JSONValue, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: Array((value.serialized() + "\n").utf8))
    }

    public static func text(_ text: String, status: Int) -> HTTPResponse {
        HTTPResponse(status: status, body: Array((text + "\n").utf8))
    }

    var reasonPhrase: String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 413: "Payload Too Large"
        case 503: "Service Unavailable"
        default: "Error"
        }
    }
}

/// The admin endpoint: HTTP/1.1 served from the node's own loop, one request per connection.
final class AdminServer {
    private let listener: TCPListener
    private var connections: [ObjectIdentifier: AdminConnection] = [:]
    let handler: (HTTPRequest) -> HTTPResponse
    let maximumRequestSize: Int
    var eventLoop: EventLoop { listener.eventLoop }

    var boundAddress: PeerAddress? { listener.boundAddress }

    init(eventLoop: EventLoop, address: PeerAddress, maximumRequestSize: Int = 1 << 20,
         handler: @escaping (HTTPRequest) -> HTTPResponse) throws(UVError) {
        self.handler = handler
        self.maximumRequestSize = maximumRequestSize
        var accept: (TCPListener) -> Void = { _ in }
        listener = try TCPListener(eventLoop: eventLoop, address: address) { accept($0) }
        accept = { [unowned self] listener in
            let connection = AdminConnection(server: self)
            guard listener.acceptInto(connection) else {
                connection.close()
                return
            }
            connections[ObjectIdentifier(connection)] = connection
            connection.start()
        }
    }

    fileprivate func finished(_ connection: AdminConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    func close() {
        listener.close()
        for connection in connections.values { connection.close() }
        connections.removeAll()
    }
}

private final class AdminConnection: LoopHandle {
    private weak var server: AdminServer?
    private let parser: HTTPMessageParser
    private var readBuffer = OutboundBuffer()
    private var response = OutboundBuffer()
    private let writeRequest = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)

    init(server: AdminServer) {
        self.server = server
        parser = HTTPMessageParser(kind: .request, maximumSize: server.maximumRequestSize)
        super.init(eventLoop: server.eventLoop, allocating: uv_tcp_t.self)
        uv_tcp_init(eventLoop.loop, rawHandle.assumingMemoryBound(to: uv_tcp_t.self))
        retainThroughHandle()
    }

    private var stream: UnsafeMutablePointer<uv_stream_t> { rawHandle.assumingMemoryBound(to: uv_stream_t.self) }

    func start() {
        uv_read_start(stream, { handle, suggested, buffer in
            guard let connection = LoopHandle.owner(of: handle.map(UnsafeMutableRawPointer.init), as: AdminConnection.self),
                  let buffer else { return }
            let space = connection.readBuffer.reserve(16 << 10)
            buffer.pointee = uv_buf_init(space.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(space.count))
        }, { stream, count, buffer in
            guard let connection = LoopHandle.owner(of: stream.map(UnsafeMutableRawPointer.init), as: AdminConnection.self) else { return }
            connection.didRead(count, base: buffer?.pointee.base)
        })
    }

    private func didRead(_ count: Int, base: UnsafeMutablePointer<CChar>?) {
        guard !isClosing else { return }
        guard count >= 0 else {
            close()
            return
        }
        do throws(HTTPMessageParser.ParseError) {
            try parser.feed(UnsafeRawBufferPointer(start: base, count: count))
        } catch {
            let status = error.description.contains("larger than") ? 413 : 400
            respond(.text("bad request: \(error)", status: status))
            return
        }
        guard parser.isComplete, let server else { return }
        respond(server.handler(request()))
    }

    private func request() -> HTTPRequest {
        let target = String(decoding: parser.url, as: UTF8.self)
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[Self.percentDecoded(keyValue[0])] = keyValue.count > 1 ? Self.percentDecoded(keyValue[1]) : ""
            }
        }
        return HTTPRequest(method: parser.method, path: String(parts.first ?? ""), query: query, body: parser.body)
    }

    /// A query component with its %XX escapes (and '+' for space) decoded, so `tag=zone%3Deu%20west` reads
    /// `zone=eu west`; a malformed escape is kept as it stands.
    static func percentDecoded(_ component: Substring) -> String {
        let bytes = Array(component.utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = HexDigit.value(bytes[index + 1]), let low = HexDigit.value(bytes[index + 2]) {
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index] == UInt8(ascii: "+") ? UInt8(ascii: " ") : bytes[index])
                index += 1
            }
        }
        return String(decoding: decoded, as: UTF8.self)
    }

    private func respond(_ reply: HTTPResponse) {
        uv_read_stop(stream)
        let head = "HTTP/1.1 \(reply.status) \(reply.reasonPhrase)\r\nContent-Type: \(reply.contentType)\r\n" +
            "Content-Length: \(reply.body.count)\r\nConnection: close\r\n\r\n"
        let headBytes = Array(head.utf8)
        let space = response.reserve(headBytes.count + reply.body.count)
        space.copyBytes(from: headBytes)
        UnsafeMutableRawBufferPointer(rebasing: space[headBytes.count...]).copyBytes(from: reply.body)
        response.commit(space.count)
        var buffer = uv_buf_init(response.base!.assumingMemoryBound(to: CChar.self), UInt32(response.count))
        writeRequest.pointee.data = handle.pointee.data
        let result = uv_write(writeRequest, stream, &buffer, 1) { request, _ in
            guard let data = request?.pointee.data else { return }
            (Unmanaged<LoopHandle>.fromOpaque(data).takeUnretainedValue() as? AdminConnection)?.close()
        }
        if result < 0 { close() }
    }

    override func willClose() {
        server?.finished(self)
    }

    override func didClose() {
        readBuffer.release()
        response.release()
        writeRequest.deallocate()
    }
}
