/// Link set-up: the handshake and the version negotiation that follows it (rules L1–L7, L12–L14), and the
/// round-trip probes that version 4 adds to every link (L15).
extension Node {
    /// The versions this node offers: its configuration's, within what this build speaks.
    var wireVersions: ClosedRange<UInt8> { configuration.wireVersions.clamped(to: WireFormat.versions) }

    /// What this node's VERSIONS frame says: its versions and, if it has one, its cluster name.
    var versionOffer: VersionOffer {
        let name = Array(configuration.clusterName.utf8.prefix(NodeConfiguration.maximumClusterNameLength))
        return VersionOffer(wireVersions, extensions: name.isEmpty ? [] : [WireExtension(tag: WireExtension.Tag.clusterName, value: name)])
    }

    mutating func receivedHandshake(_ handshake: Handshake, on link: LinkID) {
        guard handshake.version >= WireFormat.firstNegotiatingVersion else {
            // Such a peer reads only this byte and speaks one version: no VERSIONS frame will come.
            refuseVersions(on: link, peer: handshake.sender,
                           detail: "peer \(handshake.sender) speaks protocol version \(handshake.version), which does not negotiate; this node speaks \(WireFormat.describe(wireVersions))")
            return
        }
        links.update(link) { $0.phase = .awaitingVersions(handshake) }
    }

    mutating func receivedVersions(_ offer: VersionOffer, after handshake: Handshake, on link: LinkID, state: LinkState) {
        guard let offered = offer.range, offered.upperBound == handshake.version else {
            closeRejecting(link, .protocolViolation,
                           detail: "VERSIONS \(offer.lowest) to \(offer.highest) disagrees with the handshake's version \(handshake.version)")
            return
        }
        // Both in one cluster, or no link: a reused address must not merge two clusters (L16).
        let theirCluster = offer.value(of: WireExtension.Tag.clusterName).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let ourCluster = String(decoding: versionOffer.value(of: WireExtension.Tag.clusterName) ?? [], as: UTF8.self)
        guard theirCluster == ourCluster else {
            let detail = "peer \(handshake.sender) is in \(Self.describeCluster(theirCluster)), this node in \(Self.describeCluster(ourCluster))"
            logger.error("cluster mismatch", metadata: ["link": "\(link)", "detail": "\(detail)"])
            closeRejecting(link, .clusterMismatch, detail: detail)
            return
        }
        // The highest version both speak, if there is one. Other extensions are skipped.
        let common = min(offered.upperBound, wireVersions.upperBound)
        guard common >= max(offered.lowerBound, wireVersions.lowerBound) else {
            refuseVersions(on: link, peer: handshake.sender,
                           detail: "peer \(handshake.sender) speaks protocol \(WireFormat.describe(offered)), this node speaks \(WireFormat.describe(wireVersions)): none in common")
            return
        }
        completeHandshake(handshake, version: common, on: link, state: state)
    }

    private static func describeCluster(_ name: String) -> String { name.isEmpty ? "no named cluster" : "cluster '\(name)'" }

    private mutating func refuseVersions(on link: LinkID, peer: PeerDescriptor, detail: String) {
        logger.error("protocol version mismatch", metadata: ["link": "\(link)", "detail": "\(detail)"])
        closeRejecting(link, .unsupportedVersion, detail: detail)
    }

    /// Both ends agreed on `version`: the link is set up unless it duplicates another to the same peer.
    private mutating func completeHandshake(_ handshake: Handshake, version: UInt8, on link: LinkID, state: LinkState) {
        let peer = handshake.sender
        guard peer.id != identity.id else {
            reachedItself(on: link, state: state)
            return
        }
        if let existing = linkByPeer[peer.id], let existingState = links[existing],
           case .established(_, let existingEpoch) = existingState.phase {
            if handshake.epoch > existingEpoch {
                // The peer restarted: its old link, and its place in our views, are from a previous life.
                closeLink(existing, reason: "\(peer.id) restarted with epoch \(handshake.epoch)", failed: false)
            } else if handshake.epoch < existingEpoch {
                closeRejecting(link, .duplicateLink, detail: "stale epoch \(handshake.epoch) for \(peer.id)")
                return
            } else if keepsNewLink(state.direction, peer: peer.id) {
                // Both dialled at once; the other link goes, and the peer's standing moves to this one. The peer
                // may have used the other link meanwhile, even closed it: what it sent there still counts.
                supersededLinks[existing] = now
                establish(link, peer: peer, epoch: handshake.epoch, version: version, state: state)
                resendOutstanding(to: peer.id)
                return
            } else {
                // Our link to this peer already exists: what we dialled for is done over it.
                if case .outbound(let address) = state.direction { runDialIntents(for: [address], with: peer) }
                closeRejecting(link, .duplicateLink, detail: "already linked to \(identity.id)")
                resendOutstanding(to: peer.id)
                return
            }
        }
        establish(link, peer: peer, epoch: handshake.epoch, version: version, state: state)
        var dialled: [PeerAddress] = []
        if case .outbound(let address) = state.direction { dialled.append(address) }
        if dialIntents[peer.address] != nil, !dialled.contains(peer.address) { dialled.append(peer.address) }
        if !dialled.isEmpty { runDialIntents(for: dialled, with: peer) }
    }

    private mutating func establish(_ link: LinkID, peer: PeerDescriptor, epoch: Epoch, version: UInt8, state: LinkState) {
        var established = state
        established.phase = .established(peer: peer, epoch: epoch)
        established.establishedAt = now
        established.wireVersion = version
        established.gaps = SmoothedDuration(typical: configuration.probeInterval)
        links[link] = established
        linkByPeer[peer.id] = link
        counters.handshakesCompleted += 1
        // Before anything else goes out on it: every later frame of this link carries its version.
        effects.append(.setWireVersion(link, version))
        logger.debug("peer link up", metadata: ["peer": "\(peer)", "epoch": "\(epoch)", "wire_version": "\(version)"])
        armMaintenance()
    }

    /// Keeps the maintenance tick running while there are links to watch or lost peers to probe.
    mutating func armMaintenance() {
        guard !maintenanceArmed, !stopping else { return }
        maintenanceArmed = true
        maintenanceDueAt = now + maintenancePeriod
        effects.append(.armTimer(.linkMaintenance, after: maintenancePeriod))
    }

    /// When two nodes dial each other at once, both must keep the same link: the one opened by the node with
    /// the smaller id.
    private func keepsNewLink(_ direction: LinkDirection, peer: NodeID) -> Bool {
        switch direction {
        case .outbound: identity.id < peer
        case .inbound: peer < identity.id
        }
    }
}

extension Node {
    /// A dial reached this node itself: a seed list naming one of this host's own addresses, or an
    /// advertised address another node's descriptor carries wrongly. Reported once per address, at warning
    /// level when it is not the advertised address (the sign of a misconfigured seed or advertise address),
    /// and a literal address is never dialled again.
    fileprivate mutating func reachedItself(on link: LinkID, state: LinkState) {
        guard case .outbound(let dialled) = state.direction else {
            closeRejecting(link, .connectedToSelf, detail: "connected to itself")
            return
        }
        closeRejecting(link, .connectedToSelf, detail: "connected to itself through \(dialled)")
        guard dialled.isLiteral, ownAddresses.insert(dialled).inserted, dialled != identity.address else { return }
        logger.warning("dialled this node itself", metadata: [
            "address": "\(dialled)", "advertise": "\(identity.address)",
            "detail": "\(dialled) is an address of this node; it will not be dialled again",
        ])
    }
}
