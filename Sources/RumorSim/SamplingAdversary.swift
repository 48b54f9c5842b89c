import RumorCore

/// A node that over-advertises itself (docs/sampling.md, "The adversary"): every SHUFFLE, SHUFFLEREPLY (a
/// JOIN's answer is one) and FORWARDJOIN it sends names itself and its colluders at age 0, and, in the
/// walk-hijacking mode, it answers every sampling walk that reaches it as if the walk ended there. The node
/// underneath runs the real core; the simulator rewrites what crosses its links, as a modified binary would.
public struct SamplingAdversary: Sendable, Equatable {
    /// Itself first, then the nodes it colludes with.
    public var advertised: [PeerDescriptor]
    public var hijacksWalks: Bool

    public init(advertised: [PeerDescriptor], hijacksWalks: Bool) {
        self.advertised = advertised
        self.hijacksWalks = hijacksWalks
    }

    /// What the adversary sends instead of `message`.
    func rewrite(_ message: Message, using random: inout SeededRandom) -> Message {
        switch message {
        case .shuffle(var shuffle):
            shuffle.entries = advertising(over: shuffle.entries, using: &random)
            return .shuffle(shuffle)
        case .shuffleReply(var reply):
            reply.entries = advertising(over: reply.entries, using: &random)
            return .shuffleReply(reply)
        case .forwardJoin(var forward):
            forward.joiner = advertised.randomElement(using: &random) ?? forward.joiner
            return .forwardJoin(forward)
        default:
            return message
        }
    }

    /// What reaches the adversary instead of `message`: a walk made to end here when it hijacks walks.
    func intercept(_ message: Message) -> Message {
        guard hijacksWalks, case .sampleWalk(var walk) = message else { return message }
        walk.ttl = 0
        return .sampleWalk(walk)
    }

    /// The advertised nodes at age 0 (itself always first, colluders in random order) ahead of the honest
    /// entries, as many entries as the message held and at least itself.
    private func advertising(over entries: [ShuffleEntry], using random: inout SeededRandom) -> [ShuffleEntry] {
        let named = Set(advertised.map(\.id))
        let ours = ([advertised[0]] + advertised.dropFirst().shuffled(using: &random)).map { ShuffleEntry(peer: $0, age: 0) }
        let honest = entries.filter { !named.contains($0.peer.id) }
        return Array((ours + honest).prefix(max(1, entries.count)))
    }
}
