/// Topologies built into the binary, so that `rumor mesh` runs with no file at hand. Each is the file of
/// the same name under `topologies/` (a test keeps the two identical).
public enum EmbeddedTopologies {
    public static let names = ["local-16"]
    public static let defaultName = "local-16"

    public static func text(named name: String) -> String? {
        switch name {
        case "local-16", "local-16.yaml": local16
        default: nil
        }
    }

    static let local16 = """
# The default mesh of `rumor mesh`: 16 nodes on loopback join, broadcast,
# lose a quarter of their number at once, and repair. docs/topologies.md explains every key.
name: local-16
description: 16 nodes join and broadcast; a quarter are killed at once and the rest repair.
seed: 1
nodes:
  count: 16
  address: 127.0.1.{i}:7000
  id: node-{i}
seeds: first-2
workload:
  publishers: all
  rate: 20
  payload: 64
  start: 3s
schedule:
  - at: 10s
    kill: 25%
duration: 20s
checks:
  - connected within 5s
  - repaired within 5s
  - reliability >= 1.0
  - duplicates == 0
"""
}
