#if canImport(Glibc)
import Glibc
#endif

/// Starting a child process with posix_spawn, for the mesh launcher's nodes and the node's `--exec`
/// handlers (Foundation's `Process` would bring all of Foundation into the node).
public enum ChildProcess {
    public enum StandardInput: Sendable {
        case devNull
        /// The read end of a pipe; the child gets it as fd 0.
        case pipe(readEnd: Int32)
    }

    public enum StandardOutput: Sendable {
        case inherit
        /// Standard output and standard error appended to a file.
        case appendToFile(String)
    }

    public struct SpawnError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `executable` with `arguments`, all signals at their defaults and none blocked (a launcher
    /// blocks or catches signals; its children must not inherit that).
    ///
    /// - Parameters:
    ///   - environment: `NAME=value` entries; nil keeps this process's environment.
    ///   - ownProcessGroup: a group of its own, so a Ctrl-C on the terminal reaches only the parent.
    public static func spawn(_ executable: String, arguments: [String], environment: [String]? = nil,
                             standardInput: StandardInput = .devNull, standardOutput: StandardOutput = .inherit,
                             ownProcessGroup: Bool = false) throws(SpawnError) -> pid_t {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        switch standardInput {
        case .devNull: posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        case .pipe(let readEnd): posix_spawn_file_actions_adddup2(&fileActions, readEnd, 0)
        }
        switch standardOutput {
        case .inherit: break
        case .appendToFile(let path):
            posix_spawn_file_actions_addopen(&fileActions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup { flags |= POSIX_SPAWN_SETPGROUP }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        posix_spawnattr_setpgroup(&attributes, 0)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        // posix_spawn wants NUL-terminated arrays of C strings; they live only for this call.
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp = environment.map { $0.map { strdup($0) } + [nil] }
        defer { for pointer in envp ?? [] { free(pointer) } }
        var pid: pid_t = 0
        let result = envp.map { posix_spawn(&pid, executable, &fileActions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// A wait status as a person reads it: "exit 3" or "signal 9".
    public static func describe(waitStatus status: Int32) -> String {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
        status & 0x7F == 0 ? "exit \((status >> 8) & 0xFF)" : "signal \(status & 0x7F)"
    }

    /// Waits for `pid` to end and returns its wait status (0: exited with code 0).
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return status
    }
}
