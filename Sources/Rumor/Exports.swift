// What a program embedding a node names, so that `import Rumor` is the only import it needs: the core's
// value types (ids, addresses, configurations, status, `RumorRelease`), and from the runtime and the
// security layer only the types the API hands out. `RumorConfiguration` lives in the runtime because
// `rumor-node` starts from the same value.
@_exported import RumorCore
@_exported import struct RumorUV.DeliveryStream
@_exported import enum RumorUV.DeliveryEvent
@_exported import struct RumorUV.RecordedDelivery
@_exported import struct RumorUV.RecordedMemberEvent
@_exported import struct RumorUV.BoundedStream
@_exported import enum RumorUV.BoundedStreamEvent
@_exported import typealias RumorUV.MemberEventStream
@_exported import struct RumorUV.ConnectionLimits
@_exported import struct RumorUV.RumorConfiguration
@_exported import struct RumorSecurity.Keyring
@_exported import struct RumorSecurity.ClusterKey
