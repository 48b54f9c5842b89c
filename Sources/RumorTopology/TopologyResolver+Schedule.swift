import RumorCore

extension TopologyResolver {
    /// The schedule with repeating entries (`every`, `until`) spelt out, in time order.
    func resolveSchedule(duration: Duration) throws -> [ScheduledChurn] {
        var resolved: [ScheduledChurn] = []
        for entry in file.schedule ?? [] {
            let start = try time(entry.at, "at", limit: duration)
            let action = try resolveAction(entry)
            var times = [start]
            if let every = entry.every {
                guard let period = DurationText.parse(every.value), period > .zero else {
                    throw every.problem("every: expected a positive duration such as 5s, not '\(every.value)'")
                }
                let end = try entry.until.map { try time($0, "until", limit: duration) } ?? duration
                guard (end - start) / period <= 10_000 else {
                    throw every.problem("every: \(every.value) repeats the entry more than 10,000 times before its end")
                }
                var next = start + period
                while next <= end {
                    times.append(next)
                    next += period
                }
            } else if let until = entry.until {
                throw until.problem("until needs every (how often to repeat)")
            }
            resolved += times.map { ScheduledChurn(at: $0, action: action, line: entry.at.position.line) }
        }
        // Stable: entries at one time keep their order in the file.
        return resolved.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    private func resolveAction(_ entry: ScheduleEntry) throws -> ChurnAction {
        var actions: [ChurnAction] = []
        if let kill = entry.kill { actions.append(.kill(try selection(kill, "kill", allowKilled: false))) }
        if let restart = entry.restart { actions.append(.restart(try selection(restart, "restart", allowKilled: true))) }
        if let add = entry.add {
            guard (1...TopologyResolver.maximumNodes).contains(add.value) else { throw add.problem("add: expected a count of at least 1, not \(add.value)") }
            actions.append(.add(add.value))
        }
        if let replace = entry.replace { actions.append(.replace(try selection(replace, "replace", allowKilled: false))) }
        if let upgrade = entry.upgrade { actions.append(.upgrade(try selection(upgrade, "upgrade", allowKilled: false))) }
        if let freeze = entry.freeze { actions.append(.freeze(try selection(freeze, "freeze", allowKilled: false))) }
        if let thaw = entry.thaw { actions.append(.thaw(try selection(thaw, "thaw", allowKilled: false))) }
        if let partition = entry.partition {
            switch partition.value {
            case .groups(let count):
                guard count >= 2 else { throw partition.problem("partition: expected at least 2 groups, not \(count)") }
                actions.append(.partition(groups: count, explicit: []))
            case .explicit(let groups):
                guard groups.count >= 2 else { throw partition.problem("partition: expected at least 2 groups of node ids") }
                var seen: Set<String> = []
                for group in groups {
                    for name in group where !seen.insert(name.value).inserted {
                        throw name.problem("partition: node '\(name.value)' is in two groups")
                    }
                }
                actions.append(.partition(groups: groups.count, explicit: groups.map { $0.map(\.value) }))
            }
        }
        if let heal = entry.heal {
            guard heal.value else { throw heal.problem("heal: write 'heal: true' (or leave the entry out)") }
            actions.append(.heal)
        }
        if let slow = entry.slow {
            let conditions = try resolveLinks(latency: slow.value.latency, jitter: slow.value.jitter, loss: slow.value.loss, section: "slow")
            switch (slow.value.nodes, slow.value.link) {
            case (let nodes?, nil):
                actions.append(.shapeLinks(try selection(nodes, "slow.nodes", allowKilled: false), conditions))
            case (nil, let link?):
                guard link.value.count == 2, link.value[0] != link.value[1] else {
                    throw link.problem("slow.link: expected two different node ids, as [node-1, node-2]")
                }
                // The kernel drops packets per host, not per pair of hosts.
                if conditions.loss > 0, try network().isNamespaces, let loss = slow.value.loss {
                    throw loss.problem("slow.loss: on the namespace bench loss is the kernel's, per node: give slow.nodes, not slow.link")
                }
                actions.append(.shapeLink(link.value[0], link.value[1], conditions))
            default:
                throw slow.problem("slow: give either nodes (every link they have) or link: [A, B] (one link)")
            }
        }
        if let cut = entry.cut {
            try requireNamespaces(cut, "cut")
            actions.append(.cut(from: try selection(cut.value.from, "cut.from", allowKilled: false),
                                to: try selection(cut.value.to, "cut.to", allowKilled: false)))
        }
        if let rate = entry.rate {
            try requireNamespaces(rate, "rate")
            guard KernelRate.isValid(rate.value.limit.value) else {
                throw rate.value.limit.problem("rate.limit: expected a rate of at least 8kbit in tc units, as 1mbit, 500kbit or 2mbps, not '\(rate.value.limit.value)'")
            }
            actions.append(.rate(try selection(rate.value.nodes, "rate.nodes", allowKilled: false), rate.value.limit.value))
        }
        if let dns = entry.dns {
            try requireNamespaces(dns, "dns")
            actions.append(.dns(try selection(dns, "dns", allowKilled: false)))
        }
        if let move = entry.move {
            try requireNamespaces(move, "move")
            actions.append(.move(try selection(move, "move", allowKilled: false)))
        }
        guard actions.count == 1 else {
            let message = actions.isEmpty
                ? "a schedule entry needs one action: kill, restart, add, replace, upgrade, freeze, thaw, partition, heal, slow, cut, rate, dns or move"
                : "a schedule entry has one action; this one has \(actions.count) (split it into entries with the same 'at')"
            throw entry.at.problem(message)
        }
        return actions[0]
    }

    private func selection(_ text: Located<SelectionText>, _ what: String, allowKilled: Bool) throws -> NodeSelection {
        switch text.value {
        case .count(let count):
            guard count >= 1 else { throw text.problem("\(what): expected at least 1 node, not \(count)") }
            return .count(count)
        case .names(let names):
            guard !names.isEmpty else { throw text.problem("\(what): expected at least one node id") }
            var seen: Set<String> = []
            for name in names where !seen.insert(name.value).inserted {
                throw name.problem("\(what): '\(name.value)' is named twice")
            }
            return .named(names.map(\.value))
        case .word("all"):
            return .all
        case .word("killed") where allowKilled:
            return .killed
        case .word(let word) where word.hasSuffix("%"):
            guard let percent = Double(word.dropLast()), percent > 0, percent <= 100 else {
                throw text.problem("\(what): expected a share from 1% to 100%, not '\(word)'")
            }
            return .share(percent / 100)
        case .word(let word):
            let words = allowKilled ? "a count, a share such as 25%, 'all', 'killed' or a list of node ids" : "a count, a share such as 25%, 'all' or a list of node ids"
            throw text.problem("\(what): expected \(words), not '\(word)'")
        }
    }
}
