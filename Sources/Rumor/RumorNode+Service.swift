import ServiceLifecycle

/// A node is a service: a `ServiceGroup` starts it, and on graceful shutdown (SIGTERM, say, when the group
/// is configured for it) it leaves the overlay with the rest of the program.
extension RumorNode: Service {
    /// Starts the node (unless already started), waits for graceful shutdown or cancellation, then
    /// ``leave()``s: a cancelled node still says DISCONNECT and flushes.
    public func run() async throws {
        do {
            try await start()
        } catch .alreadyStarted {
            // Started by the program before the group ran: the group only decides when it leaves.
        }
        try? await gracefulShutdown()
        await leave()
    }
}
