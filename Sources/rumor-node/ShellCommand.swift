import Logging
import RumorUV

#if canImport(Glibc)
import Glibc
#endif

/// A handler command (`--exec`, `--on-member`) run the way Serf runs its event handlers: `/bin/sh -c`, input
/// on standard input, what it is about in `RUMOR_` variables, one at a time. Waits for it to exit.
struct ShellCommand {
    let command: String
    /// The option it came from, for the log.
    let option: String
    let logger: Logger

    /// Runs the command; its wait status, or nil when it could not start.
    @discardableResult
    func run(input: [UInt8], environment variables: [String]) -> Int32? {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            logger.error("\(option) handler: no pipe", metadata: ["error": "\(String(cString: strerror(errno)))"])
            return nil
        }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])
        // Close-on-exec, so the handler holds no write end of its own input and sees its end (dup2 onto
        // fd 0 clears the flag for the copy it reads).
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn("/bin/sh", arguments: ["-c", command], environment: Self.inheritedEnvironment() + variables,
                                         standardInput: .pipe(readEnd: readEnd))
        } catch {
            close(readEnd)
            close(writeEnd)
            logger.error("\(option) handler could not start", metadata: ["command": "\(command)", "error": "\(error)"])
            return nil
        }
        close(readEnd)
        // A handler that exits without reading its input is fine: SIGPIPE is ignored, the write stops at EPIPE.
        writeAll(input, to: writeEnd)
        close(writeEnd)
        return ChildProcess.waitForExit(pid)
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

    /// This process's environment without any RUMOR_ variables, which each run sets afresh.
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
