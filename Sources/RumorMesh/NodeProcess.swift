import Glibc

/// One `rumor node` process of a mesh: spawned with its output appended to a log file, in a process
/// group of its own (so a Ctrl-C on the terminal reaches only the launcher, which then tears the mesh
/// down in order), and reaped when it ends.
final class NodeProcess: @unchecked Sendable {
    let pid: pid_t
    let node: String
    private var exited = false
    /// The wait status once reaped (0 = exited normally with code 0).
    private(set) var exitStatus: Int32?

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    init(executable: String, arguments: [String], logFile: String, node: String) throws {
        self.node = node
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&fileActions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        // The launcher blocks or catches signals; the node must start with the defaults.
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        guard result == 0 else {
            throw SpawnError(description: "cannot start \(executable) for \(node): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// Whether the process still runs (reaps it if it ended).
    var isRunning: Bool {
        guard !exited else { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid { exitStatus = status }
        if result == pid || (result < 0 && errno == ECHILD) { exited = true }
        return !exited
    }

    /// Kills at once, as a crash would (`kill -9`), and reaps.
    func kill() {
        guard !exited else { return }
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
        exited = true
    }

    /// Asks the node to leave politely.
    func terminate() {
        guard !exited else { return }
        Glibc.kill(pid, SIGTERM)
    }

    /// Waits up to `timeout` for the process to end after `terminate()`, then kills it.
    func waitOrKill(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isRunning { kill() }
    }
}
