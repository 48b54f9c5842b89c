import CLibUV
import Glibc

/// The loop's sockets in another network namespace: a harness that runs nodes in namespaces of their own
/// reaches their admin endpoints from the lab's hub namespace without giving the host a route into the lab.
extension EventLoop {
    public struct NamespaceError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Moves the loop thread into the network namespace at `path` (such as /run/netns/NAME); every socket
    /// the loop opens afterwards lives there. Only the loop thread moves: the rest of the process stays put.
    public func enterNetworkNamespace(atPath path: String) async throws(NamespaceError) {
        let failure: String? = await submit {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
            defer { close(descriptor) }
            guard rumor_enter_network_namespace(descriptor) == 0 else {
                return "cannot enter the network namespace \(path): \(String(cString: strerror(errno)))"
            }
            return nil
        }
        if let failure { throw NamespaceError(description: failure) }
    }
}
