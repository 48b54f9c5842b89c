import Foundation
import struct RumorCore.PeerAddress
import struct RumorCore.NodeID
import Yams

/// Reads topology files: YAML decoded into `TopologyFile`, then checked and resolved into a `Topology`.
/// Every error names the file, the line and what was expected.
public enum TopologyLoader {
    /// Reads `path`, or the embedded topology of that name when no such file exists and the name is one
    /// of `EmbeddedTopologies.names`.
    /// `network` (the command line's `--network`) beats the file's `network:`.
    public static func load(_ path: String, network: MeshNetwork? = nil) throws(TopologyError) -> Topology {
        if !FileManager.default.fileExists(atPath: path), let text = EmbeddedTopologies.text(named: path) {
            return try parse(text, file: "embedded:\(path)", network: network)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let known = EmbeddedTopologies.names.joined(separator: ", ")
            throw TopologyError(file: path, line: 0, message: "cannot read the file (built-in topologies: \(known))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TopologyError(file: path, line: 0, message: "the file is not UTF-8 text")
        }
        return try parse(text, file: path, network: network)
    }

    public static func parse(_ text: String, file: String, network: MeshNetwork? = nil) throws(TopologyError) -> Topology {
        let root: Yams.Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw TopologyError(file: file, line: 0, message: "the file is empty; expected a mapping with nodes, duration and the rest")
            }
            root = composed
        } catch let error as TopologyError {
            throw error
        } catch let error as YamlError {
            throw yamlSyntaxError(error, file: file)
        } catch {
            throw TopologyError(file: file, line: 0, message: "cannot read YAML: \(error)")
        }
        if let problem = TopologySchema.unknownKey(in: root) {
            throw TopologyError(file: file, line: problem.position.line, column: problem.position.column, message: problem.message)
        }
        let decoded: TopologyFile
        do {
            decoded = try YAMLDecoder().decode(TopologyFile.self, from: root)
        } catch let error as DecodingError {
            throw decodingError(error, root: root, file: file)
        } catch {
            throw TopologyError(file: file, line: 0, message: "\(error)")
        }
        do {
            return try TopologyResolver(file: decoded, source: file, networkOverride: network).resolve()
        } catch let error as TopologyError {
            throw error
        } catch let problem as ResolveProblem {
            throw TopologyError(file: file, line: problem.position.line, column: problem.position.column, message: problem.message)
        } catch {
            throw TopologyError(file: file, line: 0, message: "\(error)")
        }
    }

    private static func yamlSyntaxError(_ error: YamlError, file: String) -> TopologyError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return TopologyError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        case .composer(_, let problem, let mark, _):
            return TopologyError(file: file, line: mark.line, column: mark.column, message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return TopologyError(file: file, line: context.mark.line, column: context.mark.column,
                                 message: "a key appears twice in one mapping: \(duplicates.joined(separator: ", "))")
        default:
            return TopologyError(file: file, line: 0, message: "not valid YAML: \(error)")
        }
    }

    /// Turns a decoding error into one that names the line of the offending value.
    private static func decodingError(_ error: DecodingError, root: Yams.Node, file: String) -> TopologyError {
        let path: [any CodingKey]
        let message: String
        switch error {
        case .typeMismatch(let type, let context):
            path = context.codingPath
            message = "expected \(describe(type)) at '\(dotted(path))'"
        case .valueNotFound(let type, let context):
            path = context.codingPath
            message = "expected \(describe(type)) at '\(dotted(path))', found nothing"
        case .keyNotFound(let key, let context):
            path = context.codingPath
            let place = path.isEmpty ? "at the top level" : "under '\(dotted(path))'"
            message = "missing '\(key.stringValue)' \(place)"
        case .dataCorrupted(let context):
            path = context.codingPath
            message = "cannot read '\(dotted(path))': \(context.debugDescription)"
        @unknown default:
            return TopologyError(file: file, line: 0, message: "\(error)")
        }
        let mark = node(at: path, in: root)?.mark
        return TopologyError(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, message: message)
    }

    /// The deepest node along `path` (so a missing key points at the mapping that lacks it).
    private static func node(at path: [any CodingKey], in root: Yams.Node) -> Yams.Node? {
        var current = root
        for key in path {
            if let index = key.intValue, let sequence = current.sequence, index < sequence.count {
                current = sequence[index]
            } else if let mapping = current.mapping, let child = mapping[key.stringValue] {
                current = child
            } else {
                break
            }
        }
        return current
    }

    private static func dotted(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is UInt64.Type: "a whole number"
        case is Double.Type: "a number"
        case is String.Type: "text"
        case is Bool.Type: "true or false"
        default: "a \(type)"
        }
    }
}
