import Logging
import RumorCore
@testable import RumorUV

/// A runtime on its own loop, listening on a free loopback port, for tests.
struct TestNode {
    let eventLoop: EventLoop
    let runtime: NodeRuntime
    let endpoints: NodeRuntime.Endpoints

    static func start(id: String, seeds: [PeerAddress] = [], admin: Bool = true,
                      configure: (inout RuntimeConfiguration) -> Void = { _ in }) async throws -> TestNode {
        let eventLoop = try EventLoop()
        eventLoop.start()
        let listen = PeerAddress(host: "127.0.0.1", port: 0)
        var configuration = RuntimeConfiguration(
            node: NodeConfiguration(identity: PeerDescriptor(id: NodeID(id)!, address: listen), epoch: 1, seeds: seeds),
            listen: listen, admin: admin ? PeerAddress(host: "127.0.0.1", port: 0) : nil, randomSeed: 42)
        configure(&configuration)
        var logger = Logger(label: "test.\(id)")
        logger.logLevel = .critical
        let runtime = NodeRuntime(configuration: configuration, eventLoop: eventLoop, logger: logger)
        let endpoints = try await runtime.start()
        return TestNode(eventLoop: eventLoop, runtime: runtime, endpoints: endpoints)
    }

    /// Stops the node and its loop; returns `uv_loop_close`'s result (0 when no handle was left open).
    @discardableResult
    func shutdown() async -> Int32 {
        await runtime.stop()
        eventLoop.shutdown()
        return eventLoop.closeResult
    }

    func activePeerIDs() async -> [String] {
        await runtime.status()?.node.active.map(\.id.rawValue) ?? []
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
func eventually(within timeout: Duration = .seconds(5), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}
