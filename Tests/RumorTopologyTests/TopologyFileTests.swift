import Foundation
import RumorCore
import Testing
@testable import RumorTopology

/// The topology files under `topologies/`, found from this source file.
let topologiesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("topologies").path

/// Parses `text` and returns the error it must raise.
func parseError(_ text: String) -> TopologyError? {
    do {
        _ = try TopologyLoader.parse(text, file: "t.yaml")
        return nil
    } catch {
        return error
    }
}

@Suite("Topology files: reading, errors, plans")
struct TopologyFileTests {
    @Test("every shipped topology reads, plans, and the embedded default is the file of the same name")
    func shippedTopologies() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: topologiesDirectory).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(names == ["churn-64.yaml", "freeze-32.yaml", "line-32.yaml", "local-16.yaml", "lossy-32.yaml", "netns-cuts-16.yaml", "netns-dns-16.yaml",
                          "netns-ipv6-16.yaml", "netns-loss-32.yaml", "netns-partition-32.yaml", "netns-soak-64.yaml", "partition-32.yaml", "rolling-64.yaml", "upgrade-32.yaml"])
        for name in names {
            let topology = try TopologyLoader.load("\(topologiesDirectory)/\(name)")
            #expect(topology.name + ".yaml" == name)
            #expect(!topology.checks.isEmpty, "\(name) has no checks")
            _ = try ChurnPlanner(topology: topology).plan()
        }
        let file = try String(contentsOfFile: "\(topologiesDirectory)/local-16.yaml", encoding: .utf8)
        #expect(EmbeddedTopologies.text(named: "local-16")!.trimmingCharacters(in: .newlines) == file.trimmingCharacters(in: .newlines))
        let embedded = try TopologyLoader.load("local-16")
        #expect(embedded.source == "embedded:local-16" && embedded.nodes.count == 16)
    }

    @Test("a pattern makes numbered nodes on loopback, admin on port + 1000 unless given, seeds by rule")
    func patternsAndSeedRules() throws {
        let topology = try TopologyLoader.parse("""
            nodes:
              count: 4
              address: 127.0.9.{i}:{7000+i}
            seeds: line
            duration: 10s
            """, file: "t.yaml")
        #expect(topology.nodes.map(\.id) == ["node-1", "node-2", "node-3", "node-4"])
        #expect(topology.nodes[2].address == PeerAddress(host: "127.0.9.3", port: 7003))
        #expect(topology.nodes[2].admin == PeerAddress(host: "127.0.9.3", port: 8003))
        #expect(topology.nodes.map(\.seeds) == [[], ["node-1"], ["node-2"], ["node-3"]])
        #expect(topology.workload.start == .seconds(2) && topology.workload.stop == .seconds(5))

        let first = try TopologyLoader.parse("nodes: {count: 4, address: '127.0.9.{i}:7000'}\nseeds: first-2\nduration: 5s", file: "t.yaml")
        #expect(first.nodes.map(\.seeds) == [["node-2", "node-3"], ["node-1", "node-3"], ["node-1", "node-2"], ["node-1", "node-2"]])
    }

    @Test("errors name the file, the line and what was expected", arguments: [
        ("nodes: {count: 2, address: '127.0.0.1:{7000+i}'}\nshedule: []\nduration: 5s", 2, "unknown key 'shedule'"),
        ("nodes: {count: 2, address: '10.0.0.{i}:7000'}\nduration: 5s", 1, "is not on loopback"),
        ("nodes: {count: 2, address: '127.0.0.1:7000'}\nduration: 5s", 1, "two nodes on one address"),
        ("nodes: {count: 2, address: '127.0.0.{i}:7000'}\nduration: five", 2, "expected a positive duration"),
        ("nodes: {count: 2, address: '127.0.0.{i}:7000'}\nlinks:\n  loss: 1.5\nduration: 5s", 3, "expected a share from 0 to 1"),
        ("nodes:\n  - {id: a, address: '127.0.0.1:7001'}\n  - {id: b, address: '127.0.0.1:7002', seeds: [c]}\nduration: 5s", 3, "unknown node 'c' in the seed list of 'b'"),
        ("nodes: {count: 2, address: '127.0.0.{i}:7000'}\nduration: 5s\nchecks:\n  - reliability >= 1.0 sometimes", 4, "cannot read the check"),
        ("nodes: {count: 4, address: '127.0.0.{i}:7000'}\nschedule:\n  - at: 1s\n    kill: 3\n  - at: 2s\n    kill: 2\nduration: 5s", 5, "cannot kill 2 nodes: only 1 can be"),
        ("nodes: {count: 2, address: '127.0.0.{i}:7000'}\nschedule:\n  - at: 1s\n    kill: 1\n    heal: true\nduration: 5s", 3, "has one action"),
        ("nodes: {count: abc, address: '127.0.0.{i}:7000'}\nduration: 5s", 1, "expected a whole number"),
        ("nodes: [\nduration: 5s", 3, "not valid YAML"),
        ("nodes:\n  - {id: a, address: '127.0.0.1:7001'}\n  - {id: b}\nduration: 5s", 3, "missing 'address'"),
        ("nodes: {count: 4, address: '127.0.0.{i}:7000'}\nschedule:\n  - at: 1s\n    cut: {from: [node-1], to: [node-2]}\nduration: 5s", 4, "cut needs network: namespaces"),
        ("network: namespaces\nnodes: {count: 4, address: '127.0.0.{i}:7000'}\nduration: 5s", 2, "leave them out on the namespace bench"),
        ("network: {kind: namespaces, family: 5}\nnodes: {count: 4}\nduration: 5s", 1, "network.family: expected 4 or 6"),
        ("network: moon\nnodes: {count: 4}\nduration: 5s", 1, "expected loopback, namespaces"),
        ("network: namespaces\nnodes: {count: 4}\nschedule:\n  - at: 1s\n    rate: {nodes: all, limit: fast}\nduration: 5s", 5, "rate.limit: expected a rate"),
        ("network: namespaces\nnodes: {count: 4}\nschedule:\n  - at: 1s\n    dns: [node-2]\nduration: 5s", 4, "needs seeds: dns"),
        ("network: namespaces\nnodes: {count: 4}\nseeds: {rule: dns, k: 9}\nduration: 5s", 3, "seeds.k"),
        ("network: namespaces\nnodes: {count: 1001}\nduration: 5s", 2, "expected 1 to 1000 on the namespace bench"),
        ("network: namespaces\nnodes: {count: 4}\nschedule:\n  - at: 1s\n    slow: {link: [node-1, node-2], loss: 0.1}\nduration: 5s", 5, "per node"),
    ])
    func errorsNameTheLine(text: String, line: Int, message: String) {
        let error = parseError(text)
        #expect(error?.file == "t.yaml")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }

    @Test("on the namespace bench node I lives at its slot's address, seeds may be one DNS name, and a move is a new incarnation")
    func namespaceTopologies() throws {
        let dns = try TopologyLoader.load("\(topologiesDirectory)/netns-dns-16.yaml")
        #expect(dns.network == .namespaces(.ipv4))
        #expect(dns.nodes[0].address == PeerAddress(host: "198.18.1.1", port: 7000) && dns.nodes[0].admin == PeerAddress(host: "198.18.1.1", port: 8000))
        #expect(dns.seedRule == .dns(name: "seeds.rumor.test", records: 3) && dns.nodes.allSatisfy(\.seeds.isEmpty))
        let plan = try ChurnPlanner(topology: dns).plan()
        let moves = plan.steps.compactMap { step -> [MeshNode]? in if case .move(let nodes) = step.change { nodes } else { nil } }
        #expect(moves.count == 1 && moves[0].map(\.id) == ["node-9"] && moves[0][0].number == 18)
        #expect(moves[0][0].address == PeerAddress(host: "198.18.1.18", port: 7000))
        #expect(plan.node("node-9")?.address == PeerAddress(host: "198.18.1.9", port: 7000), "node(id) is the first incarnation")
        let records = plan.steps.compactMap { step -> [PeerAddress]? in if case .dns(_, let addresses) = step.change { addresses } else { nil } }
        #expect(records == [[4, 5, 6].map { PeerAddress(host: "198.18.1.\($0)", port: 7000) }])

        let ipv6 = try TopologyLoader.load("\(topologiesDirectory)/netns-ipv6-16.yaml")
        #expect(ipv6.nodes[15].address.host == "fd52:7275:6d6f::1:16")
        #expect(LabAddressing.host(slot: 251, family: .ipv6) == "fd52:7275:6d6f::2:1" && LabAddressing.host(slot: 251, family: .ipv4) == "198.18.2.1")

        // The command line's --network moves a loopback file onto the bench, addresses and all.
        let moved = try TopologyLoader.load("\(topologiesDirectory)/partition-32.yaml", network: .namespaces(.ipv4))
        #expect(moved.network.isNamespaces && moved.nodes[31].address == PeerAddress(host: "198.18.1.32", port: 7000))

        let cuts = try TopologyLoader.load("\(topologiesDirectory)/netns-cuts-16.yaml")
        let cutPlan = try ChurnPlanner(topology: cuts).plan()
        guard case .cut(let from, let to) = cutPlan.steps[0].change else { Issue.record("the first step is not a cut"); return }
        #expect(from == ["node-1", "node-2", "node-3", "node-4"] && to == ["node-5", "node-6", "node-7", "node-8"])
        #expect(cutPlan.steps[0].change.splitsOverlay == true && cutPlan.steps[1].change.splitsOverlay == false)
        #expect(KernelRate.bitsPerSecond("1mbit") == 1e6 && KernelRate.bitsPerSecond("2mbps") == 16e6 && !KernelRate.isValid("4kbit"))
    }

    @Test("the same file gives the same churn plan twice, and replace kills then adds fresh nodes seeded by live ones")
    func plansAreDeterministic() throws {
        let topology = try TopologyLoader.load("\(topologiesDirectory)/rolling-64.yaml")
        let plan = try ChurnPlanner(topology: topology).plan()
        let again = try ChurnPlanner(topology: topology).plan()
        #expect(plan.steps.map(\.label) == again.steps.map(\.label))
        #expect(plan.nodes == again.nodes)
        // Every 5 s from 10 s to 130 s: a kill of 6 and an add of 6.
        #expect(plan.steps.count == 2 * 25)
        var up = Set(topology.nodes.map(\.id))
        for step in plan.steps {
            switch step.change {
            case .kill(let victims):
                #expect(victims.count == 6 && victims.allSatisfy(up.contains))
                up.subtract(victims)
            case .add(let nodes):
                #expect(nodes.allSatisfy { node in node.seeds.count == 3 && node.seeds.allSatisfy(up.contains) })
                up.formUnion(nodes.map(\.id))
            default:
                Issue.record("unexpected step \(step.label)")
            }
        }
        #expect(plan.nodes.count == 64 + 25 * 6)
    }

    @Test("slow takes every link of some nodes, or the one link between two")
    func slowLinks() throws {
        let topology = try TopologyLoader.parse("""
            nodes: {count: 4, address: '127.0.9.{i}:7000'}
            schedule:
              - at: 1s
                slow: {link: [node-1, node-2], latency: 200ms, loss: 0.1}
              - at: 2s
                slow: {nodes: [node-3], jitter: 5ms}
            duration: 5s
            """, file: "t.yaml")
        let plan = try ChurnPlanner(topology: topology).plan()
        guard case .shapeLinks(let pair, let slow, true) = plan.steps[0].change,
              case .shapeLinks(let single, let jitter, false) = plan.steps[1].change else {
            Issue.record("unexpected plan \(plan.steps.map(\.label))")
            return
        }
        #expect(pair == ["node-1", "node-2"] && slow == LinkConditions(latency: .milliseconds(200), loss: 0.1))
        #expect(single == ["node-3"] && jitter == LinkConditions(jitter: .milliseconds(5)))
        let bad = parseError("nodes: {count: 4, address: '127.0.9.{i}:7000'}\nschedule:\n  - at: 1s\n    slow: {link: [node-1], latency: 1s}\nduration: 5s")
        #expect(bad?.line == 4 && bad?.message.contains("two different node ids") == true, "\(String(describing: bad))")
        let unknown = parseError("nodes: {count: 4, address: '127.0.9.{i}:7000'}\nschedule:\n  - at: 1s\n    slow: {link: [node-1, node-9], latency: 1s}\nduration: 5s")
        #expect(unknown?.message.contains("'node-9', which is no node") == true, "\(String(describing: unknown))")
    }

    @Test("wire-versions starts nodes as an older release; upgrade picks each node once; bad values name their line")
    func wireVersionsAndUpgrades() throws {
        let topology = try TopologyLoader.parse("""
            nodes: {count: 4, address: '127.0.9.{i}:7000', wire-versions: 3}
            schedule:
              - at: 1s
                upgrade: [node-2]
              - at: 2s
                upgrade: 3
            duration: 5s
            """, file: "t.yaml")
        #expect(topology.nodes.allSatisfy { $0.wireVersions == 3...3 } && topology.addedNode?.wireVersions == 3...3)
        let plan = try ChurnPlanner(topology: topology).plan()
        guard case .upgrade(let first) = plan.steps[0].change, case .upgrade(let rest) = plan.steps[1].change else {
            Issue.record("unexpected plan \(plan.steps.map(\.label))")
            return
        }
        #expect(first == ["node-2"] && Set(rest) == ["node-1", "node-3", "node-4"])
        let again = parseError("nodes: {count: 4, address: '127.0.9.{i}:7000'}\nschedule:\n  - at: 1s\n    upgrade: [node-1]\n  - at: 2s\n    upgrade: [node-1]\nduration: 5s")
        #expect(again?.line == 5 && again?.message.contains("cannot upgrade 'node-1'") == true, "\(String(describing: again))")
        let outside = parseError("nodes: {count: 4, address: '127.0.9.{i}:7000', wire-versions: 2-4}\nduration: 5s")
        #expect(outside?.line == 1 && outside?.message.contains("reaches outside what this build speaks, \(WireFormat.describe(WireFormat.versions))") == true, "\(String(describing: outside))")
        let garbage = parseError("nodes: {count: 4, address: '127.0.9.{i}:7000', wire-versions: new}\nduration: 5s")
        #expect(garbage?.message.contains("wire-versions: expected a version or an ascending range") == true, "\(String(describing: garbage))")
    }

    @Test("freeze takes nodes out of the pool of nodes up until thaw gives them back")
    func freezeAndThaw() throws {
        let topology = try TopologyLoader.parse("""
            nodes: {count: 4, address: '127.0.9.{i}:7000'}
            schedule:
              - at: 1s
                freeze: [node-1, node-2]
              - at: 2s
                kill: 2
              - at: 3s
                thaw: all
            duration: 5s
            """, file: "t.yaml")
        let plan = try ChurnPlanner(topology: topology).plan()
        guard case .freeze(let hung) = plan.steps[0].change, case .kill(let killed) = plan.steps[1].change,
              case .thaw(let going) = plan.steps[2].change else {
            Issue.record("unexpected plan \(plan.steps.map(\.label))")
            return
        }
        #expect(hung == ["node-1", "node-2"] && Set(killed) == ["node-3", "node-4"] && going == hung, "a frozen node is not killed")
        let notFrozen = parseError("nodes: {count: 4, address: '127.0.9.{i}:7000'}\nschedule:\n  - at: 1s\n    thaw: [node-1]\nduration: 5s")
        #expect(notFrozen?.line == 3 && notFrozen?.message.contains("cannot thaw 'node-1'") == true, "\(String(describing: notFrozen))")
    }

    @Test("checks parse into what they measure, and bad ones say what was expected")
    func checkGrammar() throws {
        #expect(try Check.parse("reliability >= 0.99 after 5s").kind == .reliability(minimum: 0.99, scope: .settled(after: .seconds(5))))
        #expect(try Check.parse("reliability >= 1 within 250ms").kind == .reliability(minimum: 1, scope: .deliveredWithin(.milliseconds(250))))
        #expect(try Check.parse("connected within 3s").kind == .connected(within: .seconds(3)))
        #expect(try Check.parse("latency p99 <= 200ms").kind == .latency(percentile: 0.99, maximum: .milliseconds(200)))
        #expect(try Check.parse("duplicates == 0").kind == .duplicates(maximum: 0))
        #expect(try Check.parse("path <= 3.5").kind == .averagePath(maximum: 3.5))
        #expect(throws: CheckParseError.self) { try Check.parse("reliability >= 2") }
        #expect(throws: CheckParseError.self) { try Check.parse("latency p95 <= 1s") }
        #expect(throws: CheckParseError.self) { try Check.parse("happiness >= 1") }
        let afterThaw = try Check.parse("connected within 2s after thaw")
        #expect(afterThaw.kind == .connected(within: .seconds(2)) && afterThaw.onlyAfter == "thaw")
        #expect(throws: CheckParseError.self) { try Check.parse("repaired within 2s after lunch") }
    }
}
