import ArgumentParser
import FoundationEssentials
import Logging
import RumorCommandLine
import RumorCore
import RumorSecurity
import RumorUV

#if canImport(Glibc)
import Glibc
#endif

/// The node on its own, without the simulator, the mesh launcher or Foundation's full weight: every node
/// process runs this small executable (`rumor node` hands over to it), so a member costs little memory.
/// `NodeMain` layers the configuration file and the environment under the command line before parsing.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rumor-node",
        abstract: "Run a node until SIGINT or SIGTERM, then leave the overlay politely (also run as `rumor node`).",
        version: "rumor-node \(RumorRelease.summary)"
    )

    @Option(help: ArgumentHelp("Address to listen on for peers (HOST:PORT); 0.0.0.0 or [::] for every interface.", valueName: "address"))
    var listen: PeerAddress

    @Option(help: ArgumentHelp("Address peers reach this node at (HOST:PORT), put in every descriptor it hands out. Default: the listen address, or with 0.0.0.0 or [::] the host's one non-loopback address.", valueName: "address"))
    var advertise: PeerAddress?

    @Option(help: ArgumentHelp("Address of the admin HTTP endpoint (HOST:PORT, loopback).", valueName: "address"))
    var admin: PeerAddress?

    @Flag(help: "Allow the admin endpoint on a non-loopback address (it has no authentication).")
    var adminAnyAddress = false

    @Option(help: ArgumentHelp("Address of the read-only health endpoint (HOST:PORT): GET /healthz, /readyz and /metrics, safe on 0.0.0.0.", valueName: "address"))
    var health: PeerAddress?

    @Option(help: ArgumentHelp("On SIGINT or SIGTERM, how long to wait for every peer to confirm the leave by closing its side (e.g. 2s, 500ms); a second signal exits at once.", valueName: "duration"))
    var leaveTimeout = DurationArgument(.seconds(2))

    @Option(help: "A seed file: one HOST:PORT a line, '#' comments.")
    var seeds: String?

    @Option(name: .customLong("seed"), help: ArgumentHelp("A seed (HOST:PORT, the host an address or a DNS name whose every A and AAAA record is tried); may be repeated.", valueName: "address"))
    var seedAddresses: [PeerAddress] = []

    @Option(help: "This node's id (1 to 64 bytes); random when omitted.")
    var id: String?

    @Option(help: "Directory kept across restarts (the epoch lives here).")
    var dataDir: String?

    @Option(name: .customLong("tag"), help: ArgumentHelp("A tag of this node's directory entry (KEY=VALUE, shown by `rumor members`); may be repeated. Beats the same key in the tags file.", valueName: "key=value"))
    var tags: [String] = []

    @Option(help: ArgumentHelp("A JSON file of this node's tags ({\"key\": \"value\"}): read at start, rewritten whenever tags change at run time (POST /tags, `rumor tags`). Default with --data-dir: tags.json in it.", valueName: "file"))
    var tagsFile: String?

    @Option(help: "Largest frame body accepted or sent, in bytes.")
    var maxFrameSize: Int = 1 << 20

    @Option(help: ArgumentHelp("The cluster this node belongs to (1 to 64 bytes); nodes naming another cluster, or none, are refused.", valueName: "name"))
    var cluster: String?

    @Option(help: ArgumentHelp("Wire protocol versions to offer (N or LOW-HIGH); fewer than the build speaks only to run as an older release during a rolling upgrade.", valueName: "versions"))
    var wireVersions = WireVersionsArgument(WireFormat.versions)

    @Option(help: "A shell command run for each delivery, one at a time: the payload on its standard input, RUMOR_ID, RUMOR_ORIGIN, RUMOR_ROUND and RUMOR_SEQ in its environment.")
    var exec: String?

    @Option(help: ArgumentHelp("A shell command run once per batch of member events (within 100 ms): 'failed,left=CMD' for some kinds (joined, updated, suspect, alive, failed, left, reaped), 'CMD' for all; one member a line on its standard input (id, address, status, tags; tab-separated), RUMOR_EVENT naming the kind.", valueName: "events=command"))
    var onMember: String?

    @Option(help: "Largest payload a broadcast may carry, in bytes.")
    var maxPayloadSize: Int = 256 << 10

    @Option(help: "Per-peer write queue limit in bytes; a slower peer is disconnected.")
    var maxQueueBytes: Int = 8 << 20

    @Option(help: "Milliseconds a connect may take.")
    var connectTimeoutMs: Int = 2000

    @Option(help: ArgumentHelp("A keyring file (from `rumor keygen`): every link must prove a key in it; new links use the first. Without it the node runs open.", valueName: "file"))
    var clusterKey: String?

    @Option(help: "Inbound links (handshaking or established) beyond which new connections are closed at once.")
    var maxInboundLinks = ConnectionLimits().maximumInboundLinks

    @OptionGroup(title: "Membership") var membership: MembershipOptions

    @Option(help: ArgumentHelp("Test meshes: milliseconds added to every frame received.", visibility: .hidden))
    var linkLatencyMs: Double = 0

    @Option(help: ArgumentHelp("Test meshes: up to this many milliseconds more or less than --link-latency-ms.", visibility: .hidden))
    var linkJitterMs: Double = 0

    @Option(help: ArgumentHelp("Test meshes: share of received frames dropped (0 to 1).", visibility: .hidden))
    var linkLoss: Double = 0

    @Flag(help: ArgumentHelp("Exit when the process that started this node exits (used by `rumor mesh`).", visibility: .hidden))
    var exitWithParent = false

    @OptionGroup var logging: LoggingOptions

    @Option(help: ArgumentHelp("A configuration file: one 'option = value' a line, options named as here without the dashes ('#' comments). The environment's RUMOR_<OPTION> variables beat it, the command line beats both. Also RUMOR_CONFIG.", valueName: "file"))
    var config: String?

    @Flag(help: "Print the effective configuration, each value with where it came from, and exit.")
    var printConfig = false

    /// The options a configuration file or a `RUMOR_` variable may set: all but these.
    static let notLayered: Set<String> = ["config", "print-config", "help", "version"]

    func validate() throws {
        if let id, NodeID(id) == nil { throw ValidationError("--id must be 1 to \(NodeID.maximumLength) bytes, got '\(id)'") }
        guard maxFrameSize >= WireFormat.minimumFrameSizeLimit, maxFrameSize <= 64 << 20 else {
            throw ValidationError("--max-frame-size must be between \(WireFormat.minimumFrameSizeLimit) and \(64 << 20)")
        }
        guard maxPayloadSize >= 0, maxPayloadSize <= maxFrameSize - 512 else {
            throw ValidationError("--max-payload-size must be at most --max-frame-size minus 512 bytes of framing (\(maxFrameSize - 512))")
        }
        guard maxQueueBytes >= maxFrameSize else { throw ValidationError("--max-queue-bytes must be at least --max-frame-size") }
        _ = try wireVersions.validated()
        if let cluster, cluster.isEmpty || cluster.utf8.count > NodeConfiguration.maximumClusterNameLength || cluster.contains(where: \.isNewline) {
            throw ValidationError("--cluster must be 1 to \(NodeConfiguration.maximumClusterNameLength) bytes on one line, got '\(cluster)'")
        }
        guard leaveTimeout.duration <= .seconds(600) else { throw ValidationError("--leave-timeout must be at most 10m") }
        if let admin, !admin.isLoopback, !adminAnyAddress {
            throw ValidationError("--admin \(admin) is not a loopback address; the endpoint has no authentication, so add --admin-any-address to expose it anyway")
        }
        guard connectTimeoutMs > 0 else { throw ValidationError("--connect-timeout-ms must be positive") }
        guard maxInboundLinks > 0 else { throw ValidationError("--max-inbound-links must be positive") }

        _ = try Self.parseTags(tags)
        if let onMember, case .failure(let problem) = MemberHandler.parse(onMember, logger: Logger(label: "rumor")) {
            throw ValidationError(problem.description)
        }

        guard linkLatencyMs >= 0, linkJitterMs >= 0, linkLatencyMs <= 600_000, linkJitterMs <= 600_000 else {
            throw ValidationError("--link-latency-ms and --link-jitter-ms must be from 0 to 600000")
        }
        guard (0...1).contains(linkLoss) else { throw ValidationError("--link-loss must be a share from 0 to 1") }
    }

    func run() async throws { try await run(unknownVariables: []) }

    /// `--tag KEY=VALUE` options as tags; the key must not be empty, the value may hold anything.
    static func parseTags(_ options: [String]) throws -> [String: String] {
        var tags: [String: String] = [:]
        for option in options {
            guard let (key, value) = TagText.split(option) else { throw ValidationError("--tag must be KEY=VALUE with a key, got '\(option)'") }
            tags[key] = value
        }
        return tags
    }

    /// Where run-time tags are kept: `--tags-file`, or tags.json in the data directory.
    var tagsPath: String? {
        if let tagsFile { return tagsFile }
        return dataDir.map { $0.hasSuffix("/") ? $0 + "tags.json" : $0 + "/tags.json" }
    }

    /// The options as the one configuration a node starts from, the library's too (`RumorConfiguration`).
    func nodeConfiguration(seeds: [PeerAddress]) throws -> RumorConfiguration {
        var configuration = RumorConfiguration(listen: listen, seeds: seeds, id: id.flatMap(NodeID.init))
        configuration.advertise = advertise
        configuration.admin = admin
        configuration.health = health
        configuration.leaveTimeout = leaveTimeout.duration
        membership.apply(to: &configuration)
        configuration.broadcast.maximumPayloadSize = maxPayloadSize
        configuration.limits.maximumFrameSize = maxFrameSize
        configuration.limits.maximumQueuedBytes = maxQueueBytes
        configuration.limits.connectTimeout = .milliseconds(connectTimeoutMs)
        configuration.limits.maximumInboundLinks = maxInboundLinks
        configuration.wireVersions = try wireVersions.validated()
        configuration.clusterName = cluster ?? ""
        configuration.clusterKey = clusterKey.map { .file($0) }
        configuration.directory.tags = try Self.parseTags(tags)
        configuration.linkConditions = LinkConditions(latency: .nanoseconds(Int64(linkLatencyMs * 1e6)),
                                                      jitter: .nanoseconds(Int64(linkJitterMs * 1e6)), loss: linkLoss)
        return configuration
    }

    /// Runs the node; `unknownVariables` are `RUMOR_` variables that name no option, warned about once
    /// logging is up.
    func run(unknownVariables: [String]) async throws {
        logging.bootstrap()
        let logger = Logger(label: "rumor")
        for variable in unknownVariables {
            logger.warning("environment variable names no option of rumor-node; ignored", metadata: ["variable": "\(variable)"])
        }
        if exitWithParent { ParentWatch.exitWithParent() }
        var seedList = seedAddresses
        if let seeds {
            let text: String
            do { text = try String(contentsOfFile: seeds, encoding: .utf8) } catch {
                throw ValidationError("cannot read seed file \(seeds): \(error)")
            }
            do throws(SeedList.ParseError) {
                seedList += try SeedList.parse(text, file: seeds).filter { !seedList.contains($0) }
            } catch {
                throw ValidationError(error.description)
            }
        }
        var configuration = try nodeConfiguration(seeds: seedList)
        configuration.epoch = try EpochStore.nextEpoch(dataDirectory: dataDir)
        if let path = tagsPath {
            do throws(TagsFile.Problem) {
                let kept = try TagsFile.load(path) ?? [:]
                configuration.directory.tags = kept.merging(configuration.directory.tags) { _, flag in flag }
            } catch {
                throw ValidationError(error.description)
            }
            configuration.tagsFile = path
        }
        let runtimeConfiguration: RuntimeConfiguration
        do throws(ConfigurationError) {
            runtimeConfiguration = try configuration.runtimeConfiguration()
        } catch {
            throw CommandFailure(error.description)
        }
        if !runtimeConfiguration.links.isUnchanged {
            logger.notice("test-mesh link conditions on every incoming frame", metadata: ["conditions": "\(runtimeConfiguration.links)"])
        }

        let eventLoop = try EventLoop()
        eventLoop.start()
        let runtime = NodeRuntime(configuration: runtimeConfiguration, eventLoop: eventLoop, logger: logger)
        // Subscribed before the start, so the handler sees this node's own entry too.
        var memberHandler: Task<Void, Never>?
        if let onMember, case .success(let handler) = MemberHandler.parse(onMember, logger: logger) {
            let stream = await runtime.memberEventStream()
            memberHandler = Task { await handler.run(stream) }
        }
        let endpoints: NodeRuntime.Endpoints
        do {
            endpoints = try await runtime.start()
        } catch {
            eventLoop.shutdown()
            throw CommandFailure("rumor node: \(error)")
        }
        if let admin, !admin.isLoopback {
            logger.warning("the admin endpoint is reachable beyond this machine and has no authentication", metadata: ["admin": "\(admin)"])
        }
        if let keyring = runtimeConfiguration.keyring {
            logger.notice("links need the cluster key", metadata: ["keys": "\(keyring.keys.count)", "new_links_use": "\(keyring.primary)"])
        } else {
            logger.warning("running open: no --cluster-key, so anyone who can reach this port can join, read and inject broadcasts")
        }
        if seedList.isEmpty { logger.notice("no seeds given: this node waits for others to join it") }
        logger.notice("listening", metadata: ["peers": "\(endpoints.listen)", "admin": "\(endpoints.admin.map { "\($0)" } ?? "off")",
                                              "health": "\(endpoints.health.map { "\($0)" } ?? "off")"])
        let handlers = (exec.map { command in
            [Task { await DeliveryHandler(command: command, logger: logger).run(await runtime.deliveryStream()) }]
        } ?? []) + (memberHandler.map { [$0] } ?? [])
        let signal = await eventLoop.waitForTerminationSignal()
        for handler in handlers { handler.cancel() }
        logger.notice("leaving", metadata: ["signal": "\(signal.map { "\($0)" } ?? "none")", "timeout": "\(leaveTimeout.defaultValueDescription)"])
        Task.detached {
            guard let second = await eventLoop.waitForTerminationSignal() else { return }
            logger.warning("second signal during the leave: exiting at once", metadata: ["signal": "\(second)"])
            Glibc.exit(1)
        }
        let outcome = await runtime.leave(timeout: leaveTimeout.duration)
        logger.notice("left", metadata: [
            "links": "\(outcome.links)", "confirmed": "\(outcome.confirmed)",
            "cut_at_timeout": "\(outcome.timedOut ? outcome.links - outcome.confirmed : 0)",
        ])
        eventLoop.shutdown()
        if eventLoop.closeResult != 0 { logger.error("event loop closed with handles still open") }
    }
}
