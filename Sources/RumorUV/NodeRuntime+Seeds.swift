import Logging
import RumorCore

/// Seeds by DNS name. The core dials a seed by the name it was given; each dial looks the name up afresh
/// (so a seed that came back at another address is found on the next round or healing probe), drops the
/// addresses that are this node, and tries the rest in random order until one connects. The core hears of
/// the link as opened to the name, or of one failure naming every address's reason. Only configured seeds
/// are resolved: descriptors that peers hand out carry address literals.
extension NodeRuntime {
    /// How long one lookup may take before the attempt counts as failed (the core retries it later).
    static let lookupTimeout: Duration = .seconds(5)

    func dialByName(_ seed: PeerAddress) {
        guard seedReports.contains(seed) else {
            feed(.connectFailed(seed, reason: "'\(seed.host)' is a name, and names are resolved for seeds only: descriptors carry addresses"))
            return
        }
        let lookupID = nextLookup
        nextLookup += 1
        pendingLookups[lookupID] = NameLookup(eventLoop: eventLoop, host: seed.host, timeout: Self.lookupTimeout) { [weak self] result in
            guard let self else { return }
            self.pendingLookups.removeValue(forKey: lookupID)
            guard !self.stopped else { return }
            self.lookedUp(seed, result)
        }
    }

    private func lookedUp(_ seed: PeerAddress, _ result: Result<[String], LookupFailure>) {
        switch result {
        case .failure(let failure):
            seedReports.recordLookup(of: seed, result, others: 0, at: now)
            logger.debug("seed lookup failed", metadata: ["seed": "\(seed)", "error": "\(failure)"])
            let reason = "looking up \(seed.host) failed: \(failure)"
            seedReports.recordOutcome(of: seed, reason, at: now)
            feed(.connectFailed(seed, reason: reason))
        case .success(let hosts):
            var candidates = hosts.map { PeerAddress(host: $0, port: seed.port) }.filter { !isOwnAddress($0) }
            seedReports.recordLookup(of: seed, result, others: candidates.count, at: now)
            logger.debug("seed looked up", metadata: ["seed": "\(seed)", "addresses": "\(hosts.joined(separator: ","))"])
            guard !candidates.isEmpty else {
                let reason = "\(seed.host) resolves only to this node (\(hosts.joined(separator: ", ")))"
                seedReports.recordOutcome(of: seed, reason, at: now)
                feed(.connectFailed(seed, reason: reason))
                return
            }
            // Random order: nodes that share a seed name do not all crowd its first record.
            candidates.shuffle(using: &dialRandom)
            tryCandidates(candidates[...], for: seed, failures: [])
        }
    }

    /// Connects to the first of `candidates` that answers; the link counts as dialled to `seed`.
    private func tryCandidates(_ candidates: ArraySlice<PeerAddress>, for seed: PeerAddress, failures: [String]) {
        guard let candidate = candidates.first else {
            let reason = "every address of \(seed.host) failed: \(failures.sorted().joined(separator: "; "))"
            seedReports.recordOutcome(of: seed, reason, at: now)
            feed(.connectFailed(seed, reason: reason))
            return
        }
        startConnect(to: candidate) { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let connection):
                self.seedReports.recordOutcome(of: seed, "connected to \(candidate)", at: self.now)
                self.linkOpened(connection, dialled: seed, reached: candidate)
            case .failure(let error):
                self.tryCandidates(candidates.dropFirst(), for: seed, failures: failures + ["\(candidate) \(error)"])
            }
        }
    }

    /// Whether a dial of `address` would reach this node: its advertised address, or (listening on every
    /// interface) any address of this host at the listen port.
    func isOwnAddress(_ address: PeerAddress) -> Bool {
        if address == configuration.node.identity.address { return true }
        guard address.port == boundPort else { return false }
        return address.host == configuration.listen.host || ownHosts.contains(address.host)
    }

    /// A seed link's fate, for the seed's report: what closed it before it was of use.
    func recordSeedLinkClosed(_ link: LinkID, reason: String) {
        guard let seed = seedLinks.removeValue(forKey: link) else { return }
        // A second link to a seed already linked (a probe refused as a duplicate) leaves the story as it was.
        guard !seedLinks.values.contains(seed) else { return }
        seedReports.recordOutcome(of: seed, "link closed: \(reason)", at: now)
    }

    func recordSeedHandshake(on link: LinkID, from peer: PeerDescriptor) {
        guard let seed = seedLinks[link] else { return }
        seedReports.recordOutcome(of: seed, "linked to \(peer.id) at \(peer.address)", at: now)
    }
}
