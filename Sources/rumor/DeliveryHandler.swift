import Foundation
import Logging
import RumorUV

/// Runs a shell command for each delivery, the way Serf's event handlers work: one at a time, the payload
/// on standard input, the message's identity in the environment.
struct DeliveryHandler {
    let command: String
    let logger: Logger

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["RUMOR_ID"] = recorded.delivery.id.description
        environment["RUMOR_ORIGIN"] = recorded.delivery.id.origin.rawValue
        environment["RUMOR_ROUND"] = "\(recorded.delivery.round)"
        environment["RUMOR_SEQ"] = "\(recorded.sequence)"
        process.environment = environment
        let input = Pipe()
        process.standardInput = input
        do {
            try process.run()
            input.fileHandleForWriting.write(Data(recorded.delivery.payload))
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            if process.terminationStatus != 0 {
                logger.warning("--exec handler failed", metadata: ["id": "\(recorded.delivery.id)", "status": "\(process.terminationStatus)"])
            }
        } catch {
            logger.error("--exec handler could not start", metadata: ["command": "\(command)", "error": "\(error)"])
        }
    }
}
