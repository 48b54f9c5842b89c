import CHTTPParser

/// One HTTP/1.1 request or response, parsed by http_parser as bytes arrive.
final class HTTPMessageParser {
    enum Kind { case request, response }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    private let parser = UnsafeMutablePointer<http_parser>.allocate(capacity: 1)
    private(set) var url: [UInt8] = []
    private(set) var body: [UInt8] = []
    private(set) var isComplete = false
    let maximumSize: Int
    private var received = 0

    init(kind: Kind, maximumSize: Int) {
        self.maximumSize = maximumSize
        http_parser_init(parser, kind == .request ? HTTP_REQUEST : HTTP_RESPONSE)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit { parser.deallocate() }

    var method: String { String(cString: http_method_str(http_method(rawValue: rumor_http_method(parser)))) }
    var statusCode: Int { Int(parser.pointee.status_code) }

    /// Feeds bytes; an empty buffer means the stream ended (a response without a length ends there).
    func feed(_ bytes: UnsafeRawBufferPointer) throws(ParseError) {
        received += bytes.count
        guard received <= maximumSize else { throw ParseError(description: "message larger than \(maximumSize) bytes") }
        let parsed = withUnsafePointer(to: &httpParserSettings) { settings in
            http_parser_execute(parser, settings, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        let errno = http_errno(rawValue: rumor_http_errno(parser))
        guard errno == HPE_OK || (errno == HPE_PAUSED && isComplete) else {
            throw ParseError(description: String(cString: http_errno_description(errno)))
        }
        if parsed != bytes.count && !isComplete {
            throw ParseError(description: "parser stopped after \(parsed) of \(bytes.count) bytes")
        }
    }

    fileprivate static func from(_ parser: UnsafeMutablePointer<http_parser>?) -> HTTPMessageParser {
        Unmanaged<HTTPMessageParser>.fromOpaque(parser!.pointee.data).takeUnretainedValue()
    }

    fileprivate func appendURL(_ data: UnsafePointer<CChar>?, _ count: Int) {
        url.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
    }

    fileprivate func appendBody(_ data: UnsafePointer<CChar>?, _ count: Int) {
        body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: count))
    }

    fileprivate func complete() { isComplete = true }
}

// The callbacks recover their parser object from `http_parser.data`; C callbacks cannot capture.
nonisolated(unsafe) private var httpParserSettings: http_parser_settings = {
    var settings = http_parser_settings()
    settings.on_url = { parser, data, count in
        HTTPMessageParser.from(parser).appendURL(data, count)
        return 0
    }
    settings.on_body = { parser, data, count in
        HTTPMessageParser.from(parser).appendBody(data, count)
        return 0
    }
    settings.on_message_complete = { parser in
        HTTPMessageParser.from(parser).complete()
        // Pause: one message per connection here; anything after it is ignored.
        http_parser_pause(parser, 1)
        return 0
    }
    return settings
}()
