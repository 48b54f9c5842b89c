/// What was seen during one run of a topology, live or simulated: the same record from both engines, so
/// that one evaluator judges both. Times are offsets from the start of the run.
public struct RunObservation: Codable, Sendable {
    /// One life of a node: a process from start to kill or to the end of the run.
    public struct Life: Codable, Sendable {
        public var node: String
        public var start: Duration
        public var end: Duration?
        public init(node: String, start: Duration, end: Duration? = nil) {
            self.node = node
            self.start = start
            self.end = end
        }
    }

    public struct Publication: Codable, Sendable {
        public var id: String
        public var origin: String
        public var at: Duration
        public init(id: String, origin: String, at: Duration) {
            self.id = id
            self.origin = origin
            self.at = at
        }
    }

    public struct Delivery: Codable, Sendable {
        public var message: String
        public var node: String
        /// Index into `lives`: a restarted node may deliver a message again in a new life, which is not a duplicate.
        public var life: Int
        public var at: Duration
        public init(message: String, node: String, life: Int, at: Duration) {
            self.message = message
            self.node = node
            self.life = life
            self.at = at
        }
    }

    /// The active views of the nodes that answered at one moment.
    public struct Snapshot: Codable, Sendable {
        public var at: Duration
        public var views: [String: [String]]
        public init(at: Duration, views: [String: [String]]) {
            self.at = at
            self.views = views
        }
    }

    /// A churn step as it was carried out.
    public struct Event: Codable, Sendable {
        public var at: Duration
        public var label: String
        /// False while a partition is in force: the overlay is meant to be split.
        public var expectsConnectedOverlay: Bool
        public init(at: Duration, label: String, expectsConnectedOverlay: Bool) {
            self.at = at
            self.label = label
            self.expectsConnectedOverlay = expectsConnectedOverlay
        }
    }

    /// A member marked `failed` in one node's directory.
    public struct MemberFailure: Codable, Sendable {
        public var observer: String
        public var member: String
        public var at: Duration
        public init(observer: String, member: String, at: Duration) {
            self.observer = observer
            self.member = member
            self.at = at
        }
    }

    public var duration: Duration
    public var lives: [Life] = []
    public var publications: [Publication] = []
    public var deliveries: [Delivery] = []
    public var snapshots: [Snapshot] = []
    public var events: [Event] = []
    /// IPv4 sockets (TCP, UDP, raw) open in the nodes' network namespaces at the end of the run, each
    /// node's listed; nil where nothing counted them (loopback meshes share the host's namespace, and the
    /// simulator has no sockets).
    public var ipv4Sockets: [String: Int]?
    /// Every `failed` member event the nodes recorded (live: read from the nodes still running at the end);
    /// nil where nothing collected them.
    public var memberFailures: [MemberFailure]?

    public init(duration: Duration) { self.duration = duration }

    /// Failures marked while the member's process had been running, unfrozen, for `settled` or longer: no
    /// kill, freeze or restart explains them. A mark of a member killed, frozen or restarted shortly before
    /// (its old incarnation's failure) is a true one.
    public func falseFailures(settled: Duration = .seconds(10)) -> [MemberFailure] {
        (memberFailures ?? []).filter { failure in
            lives.contains { life in
                life.node == failure.member && life.start <= failure.at - settled && (life.end.map { failure.at < $0 } ?? true)
            }
        }
    }

    /// Nodes whose process runs at `time`.
    public func liveNodes(at time: Duration) -> Set<String> {
        Set(lives.filter { $0.start <= time && ($0.end.map { time < $0 } ?? true) }.map(\.node))
    }
}

extension ChurnPlan {
    /// The plan's steps as observation events, each saying whether the overlay should be whole after it.
    public func events(at times: [Duration]? = nil) -> [RunObservation.Event] {
        var partitioned = false
        return steps.enumerated().map { index, step in
            if let split = step.change.splitsOverlay { partitioned = split }
            return RunObservation.Event(at: times?[index] ?? step.at, label: step.label, expectsConnectedOverlay: !partitioned)
        }
    }
}
