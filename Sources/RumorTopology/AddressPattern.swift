import Foundation
import RumorCore

/// Fills a node's number into a pattern: `{i}` becomes the number, `{7000+i}` the sum.
enum NumberPattern {
    static func fill(_ pattern: String, number: Int) -> String? {
        var result = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { return nil }
            let expression = rest[rest.index(after: open)..<close].replacingOccurrences(of: " ", with: "")
            if expression == "i" {
                result += String(number)
            } else if expression.hasSuffix("+i"), let base = Int(expression.dropLast(2)),
                      case let (sum, overflow) = base.addingReportingOverflow(number), !overflow {
                result += String(sum)
            } else {
                return nil
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    static func hasPlaceholder(_ pattern: String) -> Bool { pattern.contains("{") }
}

/// Addresses a mesh may use: IPv4 on loopback (127.0.0.0/8), because meshes run on one machine and
/// tests must never send to any other address.
enum LoopbackAddress {
    static func parse(_ text: String) -> Result<PeerAddress, AddressProblem> {
        let address: PeerAddress
        do { address = try PeerAddress(parsing: text) } catch { return .failure(AddressProblem("'\(text)' is not HOST:PORT (\(error))")) }
        let octets = address.host.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard octets.count == 4, octets.allSatisfy({ $0 != nil && (0...255).contains($0!) }) else {
            return .failure(AddressProblem("'\(text)': the host must be an IPv4 address on loopback such as 127.0.1.5"))
        }
        guard octets[0] == 127 else { return .failure(AddressProblem("'\(text)' is not on loopback (127.0.0.0/8); meshes run on this machine only")) }
        guard address.port != 0 else { return .failure(AddressProblem("'\(text)': port 0 is not allowed; every node needs a known port")) }
        return .success(address)
    }
}

struct AddressProblem: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
