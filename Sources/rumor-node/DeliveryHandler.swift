import Logging
import RumorUV

#if canImport(Glibc)
import Glibc
#endif

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
        let identity = [
            "RUMOR_ID=\(recorded.delivery.id)",
            "RUMOR_ORIGIN=\(recorded.delivery.id.origin.rawValue)",
            "RUMOR_ROUND=\(recorded.delivery.round)",
            "RUMOR_SEQ=\(recorded.sequence)",
        ]
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            logger.error("--exec handler: no pipe", metadata: ["error": "\(String(cString: strerror(errno)))"])
            return
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        // Close-on-exec, so the handler holds no write end of its own input and sees its end (dup2 onto
        // fd 0 clears the flag for the copy it reads).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn("/bin/sh", arguments: ["-c", command], environment: Self.inheritedEnvironment() + identity,
                                         standardInput: .pipe(readEnd: readEnd))
        } catch {
            close(readEnd)
            close(writeEnd)
            logger.error("--exec handler could not start", metadata: ["command": "\(command)", "error": "\(error)"])
            return
        }
        close(readEnd)
        // A handler that exits without reading its input is fine: SIGPIPE is ignored, the write stops at EPIPE.
        writeAll(recorded.delivery.payload, to: writeEnd)
        close(writeEnd)
        let status = ChildProcess.waitForExit(pid)
        if status != 0 {
            logger.warning("--exec handler failed", metadata: ["id": "\(recorded.delivery.id)", "status": "\(ChildProcess.describe(waitStatus: status))"])
        }
    }

    private func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// This process's environment without any RUMOR_ variables, which each delivery sets afresh.
    private static func inheritedEnvironment() -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if !text.hasPrefix("RUMOR_") { entries.append(text) }
            cursor += 1
        }
        return entries
    }
}
