import Glibc
import RumorCore

/// A node's tags kept on disk as one JSON object of strings (`--tags-file`, or `tags.json` in the data
/// directory): read when the node starts, rewritten whole after every change made at run time, so tags set
/// through `POST /tags` survive a restart. Written to a temporary file and renamed, so a crash mid-write
/// leaves the old tags, never half of the new.
public enum TagsFile {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// The tags in `path`; nil when there is no such file.
    public static func load(_ path: String) throws(Problem) -> [String: String]? {
        guard let file = fopen(path, "rb") else {
            if errno == ENOENT { return nil }
            throw Problem(description: "cannot read tags file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes += chunk[..<count] }
            // A tags file is at most a few KiB: anything far larger is not one.
            if bytes.count > 1 << 20 { throw Problem(description: "tags file \(path) is larger than 1 MiB") }
            if count < chunk.count { break }
        }
        let document: JSONValue
        do throws(JSONParser.Failure) {
            document = try JSONParser.parse(bytes)
        } catch {
            throw Problem(description: "tags file \(path): \(error)")
        }
        guard case .object(let members) = document else {
            throw Problem(description: "tags file \(path) must hold one JSON object of string values")
        }
        var tags: [String: String] = [:]
        for (key, value) in members {
            guard case .string(let text) = value else { throw Problem(description: "tags file \(path): the value of \"\(key)\" is not a string") }
            tags[key] = text
        }
        return tags
    }

    public static func save(_ tags: [String: String], to path: String) throws(Problem) {
        let text = JSONValue.object(tags.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) }).serialized() + "\n"
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "wb") else {
            throw Problem(description: "cannot write tags file \(temporary): \(String(cString: strerror(errno)))")
        }
        let bytes = Array(text.utf8)
        let written = fwrite(bytes, 1, bytes.count, file)
        let flushed = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        guard written == bytes.count, flushed, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Problem(description: "cannot write tags file \(path): \(reason)")
        }
    }
}
