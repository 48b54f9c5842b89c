import ArgumentParser
import RumorCore
import RumorUV

/// Every membership and link-liveness parameter, settable from the command line (defaults from the core).
struct MembershipOptions: ParsableArguments {
    private static let defaults = MembershipConfiguration()

    @Option(help: "Active view size: open links kept.")
    var activeViewSize = defaults.activeViewSize

    @Option(help: "Passive view size: backup addresses kept.")
    var passiveViewSize = defaults.passiveViewSize

    @Option(help: "Seeds a newcomer links to (it joins through one and asks the others to be neighbours).")
    var seedLinks = defaults.seedLinks

    @Option(help: "Hops a FORWARDJOIN walks (active random walk length).")
    var activeWalkLength = defaults.activeRandomWalkLength

    @Option(help: "Hop at which a FORWARDJOIN also enters the passive view (passive random walk length).")
    var passiveWalkLength = defaults.passiveRandomWalkLength

    @Option(help: "Milliseconds between shuffle rounds (±25% jitter).")
    var shuffleIntervalMs = Int(defaults.shuffleInterval.millisecondsRounded)

    @Option(help: "Hops a SHUFFLE walks.")
    var shuffleWalkLength = defaults.shuffleWalkLength

    @Option(help: "Active entries a SHUFFLE carries.")
    var shuffleActive = defaults.shuffleActiveCount

    @Option(help: "Passive entries a SHUFFLE carries.")
    var shufflePassive = defaults.shufflePassiveCount

    @Option(help: "Milliseconds to wait for a NEIGHBOR or JOIN reply.")
    var requestTimeoutMs = Int(defaults.requestTimeout.millisecondsRounded)

    @Option(help: "Milliseconds of idle link before a keepalive is sent.")
    var keepaliveIntervalMs = 1000

    @Option(help: "Milliseconds of silence after which a link of version 3 is dead; the most a version-4 link's adaptive threshold reaches.")
    var silenceTimeoutMs = 3000

    @Option(help: "Milliseconds with nothing heard after which a version-4 link gets a PING.")
    var probeIntervalMs = 250

    @Option(help: "The shortest silence, in milliseconds, that closes a version-4 link as dead.")
    var minimumSilenceMs = 750

    @Option(help: "Peers lost to failure remembered for healing probes.")
    var lostPeerMemory = defaults.lostPeerMemory

    @Option(help: "Milliseconds before the first healing probe of a lost peer (doubling after each failure).")
    var healingProbeDelayMs = Int(defaults.healingProbeInitialDelay.millisecondsRounded)

    @Option(help: "Longest wait in milliseconds between healing probes (also the seeds' probe period).")
    var healingProbeMaxDelayMs = Int(defaults.healingProbeMaximumDelay.millisecondsRounded)

    @Option(help: "Failed probes after which a lost peer is forgotten.")
    var healingProbeAttempts = defaults.healingProbeAttempts

    @Option(help: "Milliseconds a link outside the active view (a shuffle reply, a probe) may stay open.")
    var temporaryLinkTimeoutMs = Int(defaults.temporaryLinkTimeout.millisecondsRounded)

    @Option(help: "Milliseconds a new link may take to complete its handshake.")
    var handshakeTimeoutMs = 5000

    @Option(help: "First wait in milliseconds before the seeds are tried again (doubling).")
    var seedRetryDelayMs = 250

    @Option(help: "Longest wait in milliseconds between rounds of seed attempts.")
    var seedRetryMaxDelayMs = 15000

    func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw ValidationError(message) }
        }
        try require((1...64).contains(activeViewSize), "--active-view-size must be 1 to 64")
        try require((1...4096).contains(passiveViewSize), "--passive-view-size must be 1 to 4096")
        try require((1...activeViewSize).contains(seedLinks), "--seed-links must be 1 to the active view size")
        try require((0...255).contains(activeWalkLength), "--active-walk-length must be 0 to 255")
        try require((0...activeWalkLength).contains(passiveWalkLength), "--passive-walk-length must be 0 to --active-walk-length")
        try require(shuffleIntervalMs >= 10, "--shuffle-interval-ms must be at least 10")
        try require((0...255).contains(shuffleWalkLength), "--shuffle-walk-length must be 0 to 255")
        try require((0...64).contains(shuffleActive) && (0...256).contains(shufflePassive), "--shuffle-active must be 0 to 64 and --shuffle-passive 0 to 256")
        try require(requestTimeoutMs > 0, "--request-timeout-ms must be positive")
        try require(keepaliveIntervalMs >= 10, "--keepalive-interval-ms must be at least 10")
        try require(silenceTimeoutMs > keepaliveIntervalMs, "--silence-timeout-ms must exceed --keepalive-interval-ms")
        try require(probeIntervalMs >= 10 && minimumSilenceMs > probeIntervalMs && minimumSilenceMs <= silenceTimeoutMs,
                    "--probe-interval-ms must be at least 10, and --minimum-silence-ms above it and at most --silence-timeout-ms")
        try require((0...4096).contains(lostPeerMemory), "--lost-peer-memory must be 0 to 4096")
        try require(healingProbeDelayMs > 0 && healingProbeMaxDelayMs >= healingProbeDelayMs,
                    "--healing-probe-delay-ms must be positive and at most --healing-probe-max-delay-ms")
        try require(healingProbeAttempts >= 1, "--healing-probe-attempts must be at least 1")
        try require(temporaryLinkTimeoutMs > 0 && handshakeTimeoutMs > 0, "timeouts must be positive")
        try require(seedRetryDelayMs > 0 && seedRetryMaxDelayMs >= seedRetryDelayMs,
                    "--seed-retry-delay-ms must be positive and at most --seed-retry-max-delay-ms")
    }

    func apply(to configuration: inout RumorConfiguration) {
        var membership = MembershipConfiguration()
        membership.activeViewSize = activeViewSize
        membership.passiveViewSize = passiveViewSize
        membership.seedLinks = seedLinks
        membership.activeRandomWalkLength = activeWalkLength
        membership.passiveRandomWalkLength = passiveWalkLength
        membership.shuffleInterval = .milliseconds(shuffleIntervalMs)
        membership.shuffleWalkLength = shuffleWalkLength
        membership.shuffleActiveCount = shuffleActive
        membership.shufflePassiveCount = shufflePassive
        membership.requestTimeout = .milliseconds(requestTimeoutMs)
        membership.lostPeerMemory = lostPeerMemory
        membership.healingProbeInitialDelay = .milliseconds(healingProbeDelayMs)
        membership.healingProbeMaximumDelay = .milliseconds(healingProbeMaxDelayMs)
        membership.healingProbeAttempts = healingProbeAttempts
        membership.temporaryLinkTimeout = .milliseconds(temporaryLinkTimeoutMs)
        configuration.membership = membership
        configuration.handshakeTimeout = .milliseconds(handshakeTimeoutMs)
        configuration.seedRetryInitialDelay = .milliseconds(seedRetryDelayMs)
        configuration.seedRetryMaximumDelay = .milliseconds(seedRetryMaxDelayMs)
        configuration.keepAliveInterval = .milliseconds(keepaliveIntervalMs)
        configuration.silenceTimeout = .milliseconds(silenceTimeoutMs)
        configuration.probeInterval = .milliseconds(probeIntervalMs)
        configuration.minimumSilence = .milliseconds(minimumSilenceMs)
    }
}
