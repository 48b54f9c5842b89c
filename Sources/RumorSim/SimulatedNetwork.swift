import Dispatch
import Logging
import RumorCore
import RumorGraph

/// Rumor's core nodes wired together in memory, in virtual time: the same `Node` state machines the runtime
/// drives, with only the network and the clock simulated. Links open after their latency, frames arrive in
/// order, timers fire when their time comes. A crashed node's links close at its peers (as the kernel does
/// for a killed process); a partition silently drops whatever crosses it and makes connects across it time
/// out. The same seeds give the same run, event for event, on any number of threads: the nodes are split
/// into shards (`NetworkShard`) that run side by side in windows of the shortest link latency.
public struct SimulatedNetwork {
    /// What the network saw of one broadcast.
    public struct MessageRecord: Sendable {
        public var origin: Int
        public var publishedAt: Timestamp
        /// Deliveries per node index (saturating at 255).
        public var deliveries: [UInt8]
        public var delivered = 0
        public var payloadFrames = 0
        public var lastDeliveryAt: Timestamp
        public var largestRound: UInt32 = 0
    }

    public var latency: LatencyModel {
        get { shards[0].directory.latency }
        set { updateDirectories { $0.latency = newValue } }
    }
    public var connectTimeout: Duration {
        get { shards[0].directory.connectTimeout }
        set { updateDirectories { $0.connectTimeout = newValue } }
    }
    /// Share of frames silently lost on every link (membership and broadcast alike).
    public var lossRate: Double {
        get { shards[0].directory.lossRate }
        set { updateDirectories { $0.lossRate = newValue } }
    }
    public private(set) var now = Timestamp.zero
    /// Every message sent, when `recordsMessages` is on (for small tests).
    public var recordsMessages: Bool {
        get { shards[0].recordsMessages }
        set { for shard in shards.indices { shards[shard].recordsMessages = newValue } }
    }
    public var sent: [(from: PeerAddress, to: PeerAddress?, at: Timestamp, message: Message)] {
        shards.count == 1 ? shards[0].sent : mergedByTime(shards.map(\.sent), at: \.at)
    }
    /// Every delivery with its node and time, when `recordsDeliveries` is on (topology runs).
    public var recordsDeliveries: Bool {
        get { shards[0].recordsDeliveries }
        set { for shard in shards.indices { shards[shard].recordsDeliveries = newValue } }
    }
    public var deliveryLog: [(index: Int, id: MessageID, at: Timestamp)] {
        shards.count == 1 ? shards[0].deliveryLog : mergedByTime(shards.map(\.deliveryLog), at: \.at)
    }
    /// Every member event with its node and time, when `recordsMemberEvents` is on (directory runs).
    public var recordsMemberEvents: Bool {
        get { shards[0].recordsMemberEvents }
        set { for shard in shards.indices { shards[shard].recordsMemberEvents = newValue } }
    }
    public var memberEventLog: [(index: Int, event: MemberEvent, at: Timestamp)] {
        shards.count == 1 ? shards[0].memberEventLog : mergedByTime(shards.map(\.memberEventLog), at: \.at)
    }
    public mutating func clearMemberEventLog() { for shard in shards.indices { shards[shard].clearMemberEventLog() } }
    /// Bytes of directory frames sent by every node so far: entries and reports (TopicGossip on the directory
    /// topic), summaries, buckets and entries of reconciliation. IHAVEs and GRAFTs naming directory ids are
    /// not told apart from the others'.
    public var directoryBytesSent: Int { shards.reduce(0) { $0 + $1.directoryBytesSent } }
    public var eventsProcessed: Int { shards.reduce(0) { $0 + $1.eventsProcessed } }
    /// Who published each broadcast, and when.
    private var publishedMessages: [MessageID: (origin: Int, at: Timestamp)] = [:]

    private var shards: [NetworkShard]
    private let seed: UInt64
    private let ledgerEntry: InvariantLedger.Entry?
    private var nextQuietCheck = Timestamp.zero
    /// One per shard: a logger's storage is one reference-counted object shared by every copy, and nodes
    /// on two threads retaining one object on every log call made each thread about a third slower.
    private let quietLoggers: [Logger]

    /// Shards run side by side, one thread each: `threads` rounded down to a power of two. Any count gives
    /// the same run.
    /// Every node checks its invariants after every event, and the network checks the global ones at quiet
    /// points, unless `checksInvariants` is false (`rumor sim` without `--check-invariants`: about three times
    /// faster). Inside `InvariantLedger.$current` the network reports what it checked to the ledger.
    public init(seed: UInt64 = 0x5EED, threads: Int = 1, checksInvariants: Bool = true) {
        precondition(threads >= 1, "a network runs on at least one thread")
        self.seed = seed
        let count = Self.shardCount(forThreads: threads)
        shards = (0..<count).map { NetworkShard(number: $0, of: count) }
        for shard in shards.indices { shards[shard].checksInvariants = checksInvariants }
        ledgerEntry = InvariantLedger.current?.open(checking: checksInvariants)
        quietLoggers = (0..<count).map { _ in
            var logger = Logger(label: "rumor.sim")
            logger.logLevel = .critical
            return logger
        }
    }

    public var threads: Int { shards.count }

    // MARK: Invariants

    public var checksInvariants: Bool { shards[0].checksInvariants }
    /// How many times nodes checked their invariants, crashed and replaced nodes included.
    public var invariantChecks: Int { shards.reduce(0) { $0 + $1.invariantChecks } }
    /// Every violation found so far: by nodes after their events, by the network at deliveries and at quiet points.
    public var invariantViolations: [InvariantViolation] { shards.flatMap(\.invariantViolations) }
    /// Nothing is in flight: no frame, connect or link notice anywhere waits to be handled.
    public var isQuiet: Bool { shards.reduce(0) { $0 + $1.inFlight } == 0 }

    /// Checks the global and deep invariants now, if the network is quiet; they are also checked on their
    /// own at quiet points while it runs.
    public mutating func checkQuietPoint() {
        guard checksInvariants, isQuiet else { return }
        nextQuietCheck = now + QuietPointCheck.spacing(nodes: directory.addressOf.count)
        let found = QuietPointCheck.violations(at: now, directory: directory) { node(index: $0) }
        shards[0].record(found)
    }

    private func reportToLedger() {
        ledgerEntry?.update(checks: invariantChecks, violations: invariantViolations)
    }

    /// `threads` rounded down to a power of two (shards are found by masking a node's index).
    public static func shardCount(forThreads threads: Int) -> Int {
        1 << (Int.bitWidth - 1 - max(1, threads).leadingZeroBitCount)
    }

    private var directory: NetworkDirectory { shards[0].directory }

    /// Every shard keeps its own copy of the directory; the driver changes them all alike.
    private mutating func updateDirectories(_ change: (inout NetworkDirectory) -> Void) {
        for shard in shards.indices { change(&shards[shard].directory) }
    }

    private func shard(of index: Int) -> Int { shards[0].shard(of: index) }

    // MARK: Nodes

    public var addresses: [PeerAddress] { directory.addressOf.sorted() }
    public var liveAddresses: [PeerAddress] { addresses.filter { !directory.isDown[directory.indexOf[$0]!] } }
    public var liveCount: Int { directory.isDown.filter { !$0 }.count }
    public var nodeCount: Int { directory.addressOf.count }

    public func isUp(_ address: PeerAddress) -> Bool { directory.indexOf[address].map { !directory.isDown[$0] } ?? false }
    public func node(at address: PeerAddress) -> Node { node(index: directory.indexOf[address]!) }
    public func node(index: Int) -> Node { shards[shard(of: index)].node(index) }
    public func index(of address: PeerAddress) -> Int? { directory.indexOf[address] }
    public func address(of index: Int) -> PeerAddress { directory.addressOf[index] }

    /// Starts a node (a new one, or a crashed one again with its new configuration).
    /// `preloading`: a settled directory the node holds before it starts (`Node.preloadDirectory`), its
    /// buffers shared with every other node given the same entries.
    public mutating func add(_ configuration: NodeConfiguration, seed nodeSeed: UInt64, preloading entries: [StoredEntry] = []) {
        let address = configuration.identity.address
        let known = directory.indexOf[address]
        let index = known ?? nodeCount
        var node = Node(configuration: configuration, randomSeed: nodeSeed, logger: quietLoggers[shard(of: index)])
        if !entries.isEmpty { node.preloadDirectory(entries) }
        if known == nil {
            updateDirectories {
                $0.addressOf.append(address)
                $0.indexOf[address] = index
                $0.isDown.append(false)
                $0.isFrozen.append(false)
            }
            // The network's own draws for this node (latency, loss) come from a stream of its own.
            shards[shard(of: index)].append(node, randomSeed: seed ^ (UInt64(index) &+ 1) &* 0x9E37_79B9_7F4A_7C15)
        }
        updateDirectories {
            $0.isDown[index] = false
            $0.isFrozen[index] = false
        }
        shards[shard(of: index)].start(node, at: index)
        handOverOutgoing()
    }

    /// Kills a node as SIGKILL does: it stops at once and the kernel closes its links at the other ends.
    public mutating func crash(_ address: PeerAddress) {
        guard let index = directory.indexOf[address], !directory.isDown[index] else { return }
        updateDirectories {
            $0.isDown[index] = true
            $0.isFrozen[index] = false
        }
        // A killed process's memory is gone: keeping its caches would hold half the run's message state
        // after a 50% failure (gigabytes at 100,000 nodes). A restart replaces the node anyway.
        let blank = Node(configuration: node(index: index).configuration, randomSeed: 0, logger: quietLoggers[shard(of: index)])
        shards[shard(of: index)].crash(index, blank: blank)
        handOverOutgoing()
    }

    /// Stops a node gracefully: it says DISCONNECT to its peers, closes its links, and is then gone.
    public mutating func stopNode(_ address: PeerAddress) {
        guard let index = directory.indexOf[address] else { return }
        shards[shard(of: index)].deliver(.stop, to: index)
        updateDirectories { $0.isDown[index] = true }
        shards[shard(of: index)].forgetTimers(of: index)
        handOverOutgoing()
    }

    /// Hangs a node as SIGSTOP does: its links stay open at both ends and nobody hears a close, but it
    /// handles nothing (frames, link notices, its timers) until `thaw`.
    public mutating func freeze(_ address: PeerAddress) {
        guard let index = directory.indexOf[address], !directory.isDown[index] else { return }
        updateDirectories { $0.isFrozen[index] = true }
    }

    /// Lets a frozen node go on: it handles what waited for it, at once and in order.
    public mutating func thaw(_ address: PeerAddress) {
        guard let index = directory.indexOf[address], directory.isFrozen[index] else { return }
        updateDirectories { $0.isFrozen[index] = false }
        shards[shard(of: index)].thaw(index)
        handOverOutgoing()
    }

    /// Makes node `index` over-advertise itself from now on (`SamplingAdversary`).
    public mutating func makeAdversary(_ index: Int, _ adversary: SamplingAdversary) {
        updateDirectories { $0.adversaries[index] = adversary }
    }

    public func isFrozen(_ address: PeerAddress) -> Bool { directory.indexOf[address].map { directory.isFrozen[$0] } ?? false }

    public mutating func partition(into groups: [[PeerAddress]]) {
        var assignment = [Int](repeating: -1, count: nodeCount)
        for (number, members) in groups.enumerated() {
            for address in members { if let index = directory.indexOf[address] { assignment[index] = number } }
        }
        // A fresh buffer per shard (`map`), so that no two threads read one.
        updateDirectories { $0.group = assignment.map { $0 } }
    }

    public mutating func heal() { updateDirectories { $0.group = nil } }

    /// From now on, links touching these nodes (or, with `onlyAmong`, links between two of them) have these
    /// conditions; links already open take the new latency for frames sent from now on.
    public mutating func shapeLinks(of addresses: [PeerAddress], _ conditions: LinkConditions, onlyAmong: Bool = false) {
        let indices = addresses.compactMap { directory.indexOf[$0] }
        updateDirectories { directory in
            if onlyAmong {
                for a in indices { for b in indices where a < b { directory.shapedPairs[.init(a, b)] = conditions } }
            } else {
                for index in indices { directory.shapedNodes[index] = conditions }
            }
        }
        for shard in shards.indices { shards[shard].reshapeOpenLinks() }
    }

    // MARK: Running

    public mutating func run(for duration: Duration) {
        let end = now + duration
        // Inclusive: what is due exactly at `end` runs now.
        let endExclusive = end.nanoseconds + 1
        if shards.count == 1 {
            shards[0].run(until: endExclusive)
        } else {
            runInWindows(until: endExclusive)
        }
        now = end
        for shard in shards.indices { shards[shard].now = end }
        checkQuietPoint()
        reportToLedger()
    }

    /// Runs the shards side by side, each window as long as the shortest link latency: nothing a node does
    /// in a window can reach another node before the window ends, so the shards need to meet only between
    /// windows, to hand over what their nodes sent to one another.
    private mutating func runInWindows(until endExclusive: UInt64) {
        let lookahead = UInt64(directory.lookahead.nanosecondsRounded)
        precondition(lookahead > 0, "running on several threads needs a least link latency above zero")
        let count = shards.count
        // Mailbox [from * count + to]: written by nobody while shard `to` empties it during a window.
        var mailboxes = [[NetworkShard.Item]](repeating: [], count: count * count)
        var earliestWaiting = [UInt64](repeating: .max, count: count)
        while true {
            var start = UInt64.max
            for shard in 0..<count { start = min(start, shards[shard].nextTime ?? .max, earliestWaiting[shard]) }
            guard start < endExclusive else { break }
            let windowEnd = min(start &+ lookahead, endExclusive)
            shards.withUnsafeMutableBufferPointer { shardBuffer in
                mailboxes.withUnsafeMutableBufferPointer { mailboxBuffer in
                    let window = WindowWork(shards: shardBuffer, mailboxes: mailboxBuffer)
                    DispatchQueue.concurrentPerform(iterations: count) { shard in window.run(shard, until: windowEnd) }
                }
            }
            // Between windows: what each shard sent goes into the mailboxes (emptied, so swapping hands the
            // shard back an empty buffer with its capacity).
            for receiver in 0..<count { earliestWaiting[receiver] = .max }
            for sender in 0..<count {
                for receiver in 0..<count where receiver != sender {
                    swap(&shards[sender].outgoing[receiver], &mailboxes[sender * count + receiver])
                    earliestWaiting[receiver] = min(earliestWaiting[receiver], shards[sender].outgoingEarliest[receiver])
                    shards[sender].outgoingEarliest[receiver] = .max
                }
            }
            if checksInvariants, windowEnd >= nextQuietCheck.nanoseconds, isQuiet {
                now = Timestamp(nanoseconds: windowEnd)
                checkQuietPoint()
            }
        }
        for sender in 0..<count {
            for receiver in 0..<count where receiver != sender {
                shards[receiver].receive(&mailboxes[sender * count + receiver])
            }
        }
    }

    /// Hands over at once what a node sent to other shards while the driver fed it an event.
    private mutating func handOverOutgoing() {
        guard shards.count > 1 else { return }
        for sender in shards.indices {
            for receiver in shards.indices where receiver != sender {
                var items: [NetworkShard.Item] = []
                swap(&items, &shards[sender].outgoing[receiver])
                shards[receiver].receive(&items)
                shards[sender].outgoingEarliest[receiver] = .max
            }
        }
    }

    /// Publishes `payload` on the node at `address` now.
    @discardableResult
    public mutating func publish(_ payload: [UInt8], from address: PeerAddress) throws(PublishError) -> MessageID {
        let index = directory.indexOf[address]!
        let (id, effects) = try shards[shard(of: index)].publish(payload, at: index)
        // Tallied everywhere before anything happens, the origin's own delivery included.
        publishedMessages[id] = (index, now)
        for shard in shards.indices { shards[shard].track(id, publishedAt: now) }
        shards[shard(of: index)].carryOut(effects, from: index)
        handOverOutgoing()
        reportToLedger()
        return id
    }

    /// Sets and deletes tags of the node at `address` (its directory entry), as `POST /tags` does live.
    public mutating func setTags(_ tags: [String: String], deleting keys: [String] = [], at address: PeerAddress) throws(DirectoryError) {
        let index = directory.indexOf[address]!
        let effects = try shards[shard(of: index)].setTags(tags, deleting: keys, at: index)
        shards[shard(of: index)].carryOut(effects, from: index)
        handOverOutgoing()
        reportToLedger()
    }

    // MARK: What the nodes hold

    /// What the network saw of broadcast `id`, gathered from every shard.
    public func record(of id: MessageID) -> MessageRecord? {
        guard let published = publishedMessages[id] else { return nil }
        var record = MessageRecord(origin: published.origin, publishedAt: published.at,
                                   deliveries: [UInt8](repeating: 0, count: nodeCount), lastDeliveryAt: published.at)
        for shard in shards {
            guard let tally = shard.tallies[id] else { continue }
            for (position, count) in tally.deliveries.enumerated() { record.deliveries[position * shards.count + shard.number] = count }
            record.delivered += tally.delivered
            record.payloadFrames += tally.payloadFrames
            record.lastDeliveryAt = max(record.lastDeliveryAt, tally.lastDeliveryAt)
            record.largestRound = max(record.largestRound, tally.largestRound)
        }
        return record
    }

    /// Every broadcast published so far, by id.
    public var messages: [MessageID: MessageRecord] {
        Dictionary(uniqueKeysWithValues: publishedMessages.keys.map { ($0, record(of: $0)!) })
    }

    private func tally(of id: MessageID, at index: Int) -> UInt8 {
        let shard = shards[shard(of: index)]
        return shard.tallies[id]?.deliveries[shard.local(index)] ?? 0
    }

    /// How often the node at `address` delivered `id`.
    public func deliveryCount(of id: MessageID, at address: PeerAddress) -> Int {
        guard let index = directory.indexOf[address] else { return 0 }
        return Int(tally(of: id, at: index))
    }

    /// Live nodes that did not deliver `id` exactly once.
    public func nodesMissing(_ id: MessageID) -> [PeerAddress] {
        guard publishedMessages[id] != nil else { return liveAddresses }
        return (0..<nodeCount).filter { !directory.isDown[$0] && tally(of: id, at: $0) != 1 }.map { directory.addressOf[$0] }
    }

    /// Deliveries of one message counted more than once, over all messages and nodes.
    public var duplicateDeliveries: Int {
        shards.reduce(0) { total, shard in
            total + shard.tallies.values.reduce(0) { $0 + $1.deliveries.filter { $0 > 1 }.count }
        }
    }

    /// Payload frames received by live nodes so far (RMR's numerator), from their own counters.
    public var payloadsReceived: Int {
        (0..<nodeCount).filter { !directory.isDown[$0] }.reduce(0) { $0 + node(index: $1).status(at: now).counters.payloadsReceived }
    }

    /// Active views of the live nodes, by node index.
    public func activeAdjacency() -> [[Int]] {
        var byID: [NodeID: Int] = [:]
        for index in 0..<nodeCount { byID[node(index: index).identity.id] = index }
        return (0..<nodeCount).map { index in
            guard !directory.isDown[index] else { return [] }
            return node(index: index).activePeerIDs.compactMap { byID[$0] }
        }
    }

    public func isDown(index: Int) -> Bool { directory.isDown[index] }

    /// Draws `count` samples at the live node `index`, as an application would (its core's `samplePeers`);
    /// walks the draw starts go out at once.
    public mutating func samplePeers(at index: Int, count: Int) -> [Int] {
        guard !directory.isDown[index], !directory.isFrozen[index] else { return [] }
        let samples = shards[shard(of: index)].samplePeers(at: index, count: count)
        handOverOutgoing()
        return samples.compactMap { directory.indexOf[$0.peer.address] }
    }

    /// The old draw from node `index`'s views at one instant: a diagnostic of view balance.
    public mutating func viewDrawPeers(at index: Int, count: Int) -> [Int] {
        guard !directory.isDown[index] else { return [] }
        return shards[shard(of: index)].viewDrawPeers(at: index, count: count).compactMap { directory.indexOf[$0.address] }
    }

    /// The latency of the open link from node `from` to node `to`, if there is one.
    public func linkLatency(from: Int, to: Int) -> Duration? {
        shards[shard(of: from)].links(of: from).first { $0.peer == to }?.latency
    }

    /// Active views of the live nodes, by address.
    public func activeViews() -> [PeerAddress: [PeerAddress]] {
        let adjacency = activeAdjacency()
        var views: [PeerAddress: [PeerAddress]] = [:]
        for index in 0..<nodeCount where !directory.isDown[index] {
            views[directory.addressOf[index]] = adjacency[index].map { directory.addressOf[$0] }
        }
        return views
    }

    /// Pairs (A, B) where A holds B but B does not hold A.
    public func asymmetricPairs() -> [(PeerAddress, PeerAddress)] {
        let adjacency = activeAdjacency()
        var pairs: [(PeerAddress, PeerAddress)] = []
        for index in 0..<nodeCount where !directory.isDown[index] {
            for peer in adjacency[index] where !adjacency[peer].contains(index) {
                pairs.append((directory.addressOf[index], directory.addressOf[peer]))
            }
        }
        return pairs
    }

    /// Live nodes whose active view names a node that is down.
    public func viewsHoldingDeadPeers() -> [PeerAddress] {
        let adjacency = activeAdjacency()
        return (0..<nodeCount).filter { !directory.isDown[$0] && adjacency[$0].contains { directory.isDown[$0] } }
            .map { directory.addressOf[$0] }.sorted()
    }

    /// Connected components of the live nodes over active links (taken as undirected).
    public func components() -> [[PeerAddress]] {
        OverlayGraph(adjacency: activeAdjacency(), live: directory.isDown.map { !$0 }).components().map { $0.map { directory.addressOf[$0] } }
    }
}

/// One window's shards and mailboxes, for the worker threads. Unchecked: each thread touches only its own
/// shard and the mailboxes addressed to it, and nobody else touches those until every thread is done.
private struct WindowWork: @unchecked Sendable {
    let shards: UnsafeMutableBufferPointer<NetworkShard>
    let mailboxes: UnsafeMutableBufferPointer<[NetworkShard.Item]>

    func run(_ shard: Int, until end: UInt64) {
        let count = shards.count
        for sender in 0..<count where sender != shard { shards[shard].receive(&mailboxes[sender * count + shard]) }
        shards[shard].run(until: end)
    }
}

/// Several shards' logs as one, by time; entries of one time keep their shard order (the same on every run).
private func mergedByTime<Entry>(_ logs: [[Entry]], at time: KeyPath<Entry, Timestamp>) -> [Entry] {
    logs.joined().enumerated().sorted { ($0.element[keyPath: time], $0.offset) < ($1.element[keyPath: time], $1.offset) }.map(\.element)
}

extension PeerAddress {
    /// The address of simulated node `index`: its own loopback host, port 7000.
    public static func local(_ index: Int) -> PeerAddress {
        PeerAddress(host: "127.\(index / 62_500 % 256).\(index / 250 % 250).\(index % 250 + 1)", port: 7000)
    }
}

/// The configuration of simulated node `index`. The directory is off unless asked for: the broadcast and
/// membership experiments measure the application's messages, and every node's entry reaching every other
/// would be most of a 10,000-node run's work and memory.
public func simulatedConfiguration(_ index: Int, seeds: [Int], epoch: Epoch = 1, directory: Bool = false) -> NodeConfiguration {
    var configuration = NodeConfiguration(identity: PeerDescriptor(id: NodeID("n\(index)")!, address: .local(index)),
                                          epoch: epoch, seeds: seeds.map(PeerAddress.local))
    configuration.directory.enabled = directory
    return configuration
}

/// The entry a node of `configuration` starts with, as the directory stores it: what a warm start preloads.
public func simulatedOwnEntry(_ configuration: NodeConfiguration) -> StoredEntry {
    StoredEntry(MemberEntry.first(of: configuration))
}
