import ArgumentParser
import FoundationEssentials
import RumorCore

#if canImport(Glibc)
import Glibc
#endif

/// The epoch grows with every start: the larger of the stored one plus one and the wall clock in
/// milliseconds, so it grows even without a data directory (unless the clock goes back).
enum EpochStore {
    static func nextEpoch(dataDirectory: String?) throws -> Epoch {
        let clock = Epoch(Date().timeIntervalSince1970 * 1000)
        guard let dataDirectory else { return clock }
        do {
            try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot create data directory \(dataDirectory): \(FileErrorText.describe(error))")
        }
        let path = dataDirectory.hasSuffix("/") ? dataDirectory + "epoch" : dataDirectory + "/epoch"
        var previous: Epoch = 0
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            guard let value = Epoch(text.filter { !$0.isWhitespace }) else {
                throw ValidationError("\(path) does not hold an epoch number; remove it to start afresh")
            }
            previous = value
        }
        let epoch = max(previous + 1, clock)
        do {
            try Data("\(epoch)\n".utf8).write(to: URL(filePath: path), options: .atomic)
        } catch {
            throw ValidationError("cannot write \(path): \(FileErrorText.describe(error))")
        }
        return epoch
    }
}

/// File errors as the operating system words them ("Permission denied"), where it does.
enum FileErrorText {
    static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError, let posix = cocoa.underlying as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        return "\(error)"
    }
}

/// Ties a node's life to the process that started it, so a mesh launcher that dies leaves no node behind.
enum ParentWatch {
    /// Checks once a second whether the parent is gone (the node is re-parented); if so, the node sends
    /// itself SIGTERM and leaves politely as on Ctrl-C.
    static func exitWithParent() {
        let parent = getppid()
        guard parent != 1 else { exit(0) }
        Task.detached {
            while getppid() == parent { try? await Task.sleep(for: .seconds(1)) }
            kill(getpid(), SIGTERM)
        }
    }
}
