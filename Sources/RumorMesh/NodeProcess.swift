import Glibc
import RumorUV

/// One node process (`rumor-node`) of a mesh: spawned with its output appended to a log file, in a process
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
        do {
            pid = try ChildProcess.spawn(executable, arguments: arguments, standardOutput: .appendToFile(logFile), ownProcessGroup: true)
        } catch {
            throw SpawnError(description: "\(error.description) for \(node)")
        }
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

    /// Hangs the node (SIGSTOP), as a host that stops answering does: its sockets stay open.
    func pause() {
        guard !exited else { return }
        Glibc.kill(pid, SIGSTOP)
    }

    /// Lets a paused node go on (SIGCONT).
    func resume() {
        guard !exited else { return }
        Glibc.kill(pid, SIGCONT)
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
