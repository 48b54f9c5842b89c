import RumorCore

/// What the runtime last learnt of each configured seed: its last DNS answer and the outcome of its last
/// attempt. `/status` lists them, readiness asks whether they all lead only to this node, and the isolation
/// warning tells their story.
public struct SeedReports: Sendable {
    public struct Report: Sendable, Equatable {
        public var seed: PeerAddress
        /// A name (resolved on every dial) rather than an address literal.
        public var isName: Bool
        /// When the name was last looked up, and what came back: its addresses, or why none.
        public var lastLookup: Timestamp?
        public var addresses: [String] = []
        public var lookupError: String?
        /// When the seed was last dialled, and how that went.
        public var lastAttempt: Timestamp?
        public var outcome = "not tried yet"
        /// Since when every answer has named only this node (nil while the seed leads elsewhere).
        public var onlySelfSince: Timestamp?
    }

    public private(set) var reports: [Report]

    public init(seeds: [PeerAddress], ownAddress: PeerAddress) {
        reports = seeds.map { seed in
            var report = Report(seed: seed, isName: !seed.isLiteral)
            // A literal seed that is this node's own address leads nowhere, from the start.
            if seed == ownAddress {
                report.onlySelfSince = .zero
                report.outcome = "this node's own address: not dialled"
            }
            return report
        }
    }

    public var isEmpty: Bool { reports.isEmpty }

    public func contains(_ seed: PeerAddress) -> Bool { reports.contains { $0.seed == seed } }

    /// A lookup of `seed`'s name answered `addresses` (of which `others` are not this node), or failed.
    public mutating func recordLookup(of seed: PeerAddress, _ result: Result<[String], LookupFailure>, others: Int, at now: Timestamp) {
        update(seed) { report in
            report.lastLookup = now
            switch result {
            case .success(let addresses):
                report.addresses = addresses
                report.lookupError = nil
                if others == 0 {
                    if report.onlySelfSince == nil { report.onlySelfSince = now }
                } else {
                    report.onlySelfSince = nil
                }
            case .failure(let failure):
                report.lookupError = failure.description
                report.onlySelfSince = nil
            }
        }
    }

    /// The attempt on `seed` ended as `outcome` says.
    public mutating func recordOutcome(of seed: PeerAddress, _ outcome: String, at now: Timestamp) {
        update(seed) { report in
            report.lastAttempt = now
            report.outcome = outcome
        }
    }

    /// Since when every seed has led only to this node, or nil when one leads elsewhere (or there are none).
    public var allOnlySelfSince: Timestamp? {
        guard !reports.isEmpty else { return nil }
        var latest = Timestamp.zero
        for report in reports {
            guard let since = report.onlySelfSince else { return nil }
            latest = max(latest, since)
        }
        return latest
    }

    /// One line a seed of what was tried and how it failed: the isolation warning's text, which is logged
    /// again only when it changes.
    public var story: [String] {
        reports.map { report in
            var line = "\(report.seed): "
            if let error = report.lookupError {
                line += "lookup failed: \(error)"
            } else if report.isName, report.lastLookup != nil {
                line += "resolves to \(report.addresses.isEmpty ? "nothing" : report.addresses.sorted().joined(separator: ", ")); "
                line += report.outcome
            } else {
                line += report.outcome
            }
            return line
        }
    }

    private mutating func update(_ seed: PeerAddress, _ change: (inout Report) -> Void) {
        guard let index = reports.firstIndex(where: { $0.seed == seed }) else { return }
        change(&reports[index])
    }
}

/// Why a seed's name gave no address.
public struct LookupFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
