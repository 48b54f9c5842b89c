/// Reads a JSON document (RFC 8259) into a `JSONValue`, for the admin endpoint's request bodies (no
/// Foundation in the node). Strict: one value, nothing after it but white space, nesting at most
/// `maximumDepth` deep; every error says what was wrong and at which byte.
public struct JSONParser {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var problem: String

        public var description: String { "invalid JSON at byte \(offset): \(problem)" }
    }

    public static let maximumDepth = 32

    private let bytes: [UInt8]
    private var offset = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    public static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhiteSpace()
        guard parser.offset == bytes.count else { throw parser.failure("unexpected text after the value") }
        return value
    }

    private func failure(_ problem: String) -> Failure { Failure(offset: offset, problem: problem) }

    private mutating func skipWhiteSpace() {
        while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth)") }
        skipWhiteSpace()
        guard offset < bytes.count else { throw failure("the document ends where a value was expected") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character '\(Character(Unicode.Scalar(bytes[offset])))'")
        }
    }

    private mutating func literal(_ word: String) throws(Failure) {
        let expected = Array(word.utf8)
        guard bytes.count - offset >= expected.count, Array(bytes[offset..<offset + expected.count]) == expected else {
            throw failure("expected \(word)")
        }
        offset += expected.count
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        offset += 1
        var members: [(String, JSONValue)] = []
        skipWhiteSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            return .object(members)
        }
        while true {
            skipWhiteSpace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try string()
            skipWhiteSpace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw failure("expected ':' after a key") }
            offset += 1
            members.append((key, try value(depth: depth + 1)))
            skipWhiteSpace()
            guard offset < bytes.count else { throw failure("the object is not closed") }
            if bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                return .object(members)
            }
            guard bytes[offset] == UInt8(ascii: ",") else { throw failure("expected ',' or '}' in an object") }
            offset += 1
        }
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        offset += 1
        var elements: [JSONValue] = []
        skipWhiteSpace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
            offset += 1
            return .array(elements)
        }
        while true {
            elements.append(try value(depth: depth + 1))
            skipWhiteSpace()
            guard offset < bytes.count else { throw failure("the array is not closed") }
            if bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return .array(elements)
            }
            guard bytes[offset] == UInt8(ascii: ",") else { throw failure("expected ',' or ']' in an array") }
            offset += 1
        }
    }

    private mutating func string() throws(Failure) -> String {
        offset += 1
        var runStart = offset
        var text = ""
        func flushRun(_ end: Int) throws(Failure) {
            guard end > runStart else { return }
            let run = bytes[runStart..<end]
            // Validated as UTF-8: decoding repairs bad bytes, so the round trip shows whether any were bad.
            let decoded = String(decoding: run, as: UTF8.self)
            guard decoded.utf8.elementsEqual(run) else { throw Failure(offset: runStart, problem: "a string is not valid UTF-8") }
            text += decoded
        }
        while true {
            guard offset < bytes.count else { throw failure("the string is not closed") }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                try flushRun(offset)
                offset += 1
                return text
            }
            guard byte >= 0x20 else { throw failure("a control character inside a string") }
            guard byte == UInt8(ascii: "\\") else {
                offset += 1
                continue
            }
            try flushRun(offset)
            offset += 1
            guard offset < bytes.count else { throw failure("the string is not closed") }
            let escape = bytes[offset]
            offset += 1
            switch escape {
            case UInt8(ascii: "\""): text += "\""
            case UInt8(ascii: "\\"): text += "\\"
            case UInt8(ascii: "/"): text += "/"
            case UInt8(ascii: "b"): text += "\u{08}"
            case UInt8(ascii: "f"): text += "\u{0C}"
            case UInt8(ascii: "n"): text += "\n"
            case UInt8(ascii: "r"): text += "\r"
            case UInt8(ascii: "t"): text += "\t"
            case UInt8(ascii: "u"):
                var code = try hexQuad()
                if (0xD800...0xDBFF).contains(code) {
                    // A high surrogate must be followed by an escaped low one.
                    guard bytes.count - offset >= 6, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
                        throw failure("a lone high surrogate")
                    }
                    offset += 2
                    let low = try hexQuad()
                    guard (0xDC00...0xDFFF).contains(low) else { throw failure("a high surrogate without its low half") }
                    code = 0x10000 + (code - 0xD800) << 10 + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw failure("\\u escape of a lone surrogate") }
                text.unicodeScalars.append(scalar)
            default:
                throw failure("unknown escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
            runStart = offset
        }
    }

    private mutating func hexQuad() throws(Failure) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw failure("a \\u escape needs four hex digits") }
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = HexDigit.value(bytes[offset]) else { throw failure("a \\u escape needs four hex digits") }
            code = code << 4 | UInt32(digit)
            offset += 1
        }
        return code
    }


    private mutating func number() throws(Failure) -> JSONValue {
        let start = offset
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        func digits() -> Int {
            let first = offset
            while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
            return offset - first
        }
        let integerStart = offset
        let integerDigits = digits()
        guard integerDigits > 0 else { throw failure("a number needs digits") }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { throw Failure(offset: integerStart, problem: "a number with a leading zero") }
        var isInteger = true
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            isInteger = false
            guard digits() > 0 else { throw failure("a fraction needs digits") }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            isInteger = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw failure("an exponent needs digits") }
        }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .int(integer) }
        guard let double = Double(text) else { throw Failure(offset: start, problem: "a number out of range") }
        return .double(double)
    }
}

/// One hexadecimal digit's value, for JSON's \u escapes and URLs' %XX escapes.
enum HexDigit {
    static func value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
