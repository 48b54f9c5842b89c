import Logging
import RumorUV

/// Runs a shell command for each delivery, the way Serf's event handlers work: one at a time, the payload
/// on standard input, the message's identity in the environment.
struct DeliveryHandler {
    let command: ShellCommand
    let logger: Logger

    init(command: String, logger: Logger) {
        self.command = ShellCommand(command: command, option: "--exec", logger: logger)
        self.logger = logger
    }

    func run(_ stream: DeliveryStream) async {
        for await event in stream {
            switch event {
            case .lagged(let missed):
                logger.warning("--exec handler fell behind: deliveries skipped", metadata: ["missed": "\(missed)"])
            case .delivery(let recorded):
                handle(recorded)
            }
        }
    }

    private func handle(_ recorded: RecordedDelivery) {
        let identity = [
            "RUMOR_ID=\(recorded.delivery.id)",
            "RUMOR_ORIGIN=\(recorded.delivery.id.origin.rawValue)",
            "RUMOR_ROUND=\(recorded.delivery.round)",
            "RUMOR_SEQ=\(recorded.sequence)",
        ]
        guard let status = command.run(input: recorded.delivery.payload, environment: identity), status != 0 else { return }
        logger.warning("--exec handler failed", metadata: ["id": "\(recorded.delivery.id)", "status": "\(ChildProcess.describe(waitStatus: status))"])
    }
}
