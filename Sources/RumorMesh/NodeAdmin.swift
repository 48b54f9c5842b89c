import Foundation
import RumorCore
import RumorTopology
import RumorUV

/// The launcher's side of a node's admin endpoint: status, deliveries, publish and link conditions,
/// decoded into small types. All requests share one loop thread.
struct NodeAdmin: Sendable {
    let eventLoop: EventLoop
    var timeout: Duration = .seconds(3)

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Status: Decodable {
        struct Peer: Decodable {
            var id: String
            var address: String
        }
        var id: String
        var active: [Peer]
        var passive: [Peer]
    }

    struct DeliveryLine: Decodable {
        var seq: UInt64
        var id: String
        var origin: String
        var received_ns: Int64
    }

    func status(of node: MeshNode) async throws -> Status {
        let reply = try await request("GET", "/status", node)
        return try decode(Status.self, reply.body, node)
    }

    func deliveries(of node: MeshNode, after sequence: UInt64) async throws -> [DeliveryLine] {
        let reply = try await request("GET", "/deliveries?after=\(sequence)&limit=100000&payloads=0", node)
        var lines: [DeliveryLine] = []
        for line in reply.body.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            lines.append(try decode(DeliveryLine.self, Array(line), node))
        }
        return lines
    }

    struct MemberEventLine: Decodable {
        var seq: UInt64
        var event: String
        var id: String
        var applied_ns: Int64
    }

    /// The member events the node still holds (its recent ones, docs/directory.md "Surface").
    func memberEvents(of node: MeshNode) async throws -> [MemberEventLine] {
        let reply = try await request("GET", "/member-events?after=0", node)
        var lines: [MemberEventLine] = []
        for line in reply.body.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            lines.append(try decode(MemberEventLine.self, Array(line), node))
        }
        return lines
    }

    /// Publishes and returns the message id.
    func publish(_ payload: [UInt8], on node: MeshNode) async throws -> String {
        struct Published: Decodable { var id: String }
        let reply = try await request("POST", "/publish", node, body: payload)
        return try decode(Published.self, reply.body, node).id
    }

    /// Sets the conditions of `node`'s links to `peers`, or resets them to the node's default when nil.
    func setLinks(on node: MeshNode, peers: [PeerAddress], to conditions: LinkConditions?) async throws {
        guard !peers.isEmpty else { return }
        var query = "peers=" + peers.map(\.description).joined(separator: ",")
        if let conditions {
            query += "&latency_ms=\(Double(conditions.latency.nanosecondsRounded) / 1e6)"
            query += "&jitter_ms=\(Double(conditions.jitter.nanosecondsRounded) / 1e6)&loss=\(conditions.loss)"
        } else {
            query += "&reset=1"
        }
        _ = try await request("POST", "/links?\(query)", node)
    }

    private func request(_ method: String, _ path: String, _ node: MeshNode, body: [UInt8] = []) async throws -> AdminClient.Reply {
        let reply: AdminClient.Reply
        do {
            reply = try await AdminClient.request(method, path, to: node.admin, body: body, timeout: timeout, using: eventLoop)
        } catch {
            throw Failure(description: "\(node.id): \(error)")
        }
        guard reply.status == 200 else { throw Failure(description: "\(node.id): \(method) \(path) answered \(reply.status): \(reply.text)") }
        return reply
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8], _ node: MeshNode) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw Failure(description: "\(node.id): cannot read its answer: \(error)")
        }
    }
}
