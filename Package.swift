// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Rumor",
    // macOS 15: the simulator's invariant ledger uses Synchronization's Mutex.
    platforms: [.macOS(.v15)],
    products: [
        // The embeddable node: `import Rumor`. Nothing under it may carry unsafe flags (a versioned
        // dependency's products are refused if they do), so the C benchmark floors and the executables stay out.
        .library(name: "Rumor", targets: ["Rumor"]),
        .executable(name: "rumor", targets: ["rumor"]),
        .executable(name: "rumor-node", targets: ["rumor-node"]),
        .library(name: "RumorCore", targets: ["RumorCore"]),
        .library(name: "RumorUV", targets: ["RumorUV"]),
        .library(name: "RumorSim", targets: ["RumorSim"]),
        .library(name: "RumorExperiments", targets: ["RumorExperiments"]),
        .library(name: "RumorSecurity", targets: ["RumorSecurity"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // libuv, from Debian's libuv1-dev.
        .systemLibrary(
            name: "CLibUV",
            pkgConfig: "libuv",
            providers: [.apt(["libuv1-dev"])]
        ),
        // The HTTP/1.1 request parser behind the admin endpoint, from Debian's libhttp-parser-dev.
        .systemLibrary(
            name: "CHTTPParser",
            providers: [.apt(["libhttp-parser-dev"])]
        ),
        // A plain libuv sender/receiver pair with no protocol: the ceiling the transport benchmark compares against.
        .target(
            name: "CTransportCeiling",
            dependencies: ["CLibUV"],
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        // The Serf benchmark's floor: processes relaying frames down a tree over plain libuv, no protocol.
        .target(
            name: "CRelayFloor",
            dependencies: ["CLibUV"],
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        .target(
            name: "RumorCore",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        // The cluster-key handshake and sealed frames, pure like the core (no I/O): X25519, HKDF, ChaCha20-Poly1305.
        .target(
            name: "RumorSecurity",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "RumorUV",
            dependencies: [
                "CLibUV",
                "RumorSecurity",
                "CHTTPParser",
                "RumorCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // A node inside another Swift program: one configuration value, publish, an AsyncSequence of
        // deliveries, peer samples, status, a graceful leave, and a `Service` for swift-service-lifecycle.
        .target(
            name: "Rumor",
            dependencies: [
                "RumorCore",
                "RumorUV",
                "RumorSecurity",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // An overlay as a graph: components, in-degrees, clustering, path lengths (live meshes and the simulator).
        .target(name: "RumorGraph"),
        // Benchmarks of the runtime's own transport: linked into `rumor`, never into `rumor-node`.
        .target(name: "RumorBench", dependencies: ["RumorCore", "RumorUV"]),
        // Topology files, churn plans and the checks a run is judged by: shared by live meshes and the simulator.
        .target(
            name: "RumorTopology",
            dependencies: ["RumorCore", "RumorGraph", .product(name: "Yams", package: "Yams")]
        ),
        // The simulator's engine: nodes, links, virtual time, the invariant checks. The core only, no YAML or
        // Foundation, so that the core's tests build nothing else.
        .target(
            name: "RumorSim",
            dependencies: ["RumorCore", "RumorGraph", .product(name: "Logging", package: "swift-log")]
        ),
        // What is run on the engine: the common scenario, the papers' experiments, the baselines, topology files.
        .target(
            name: "RumorExperiments",
            dependencies: ["RumorCore", "RumorSim", "RumorGraph", "RumorTopology"]
        ),
        // Launches a topology as real `rumor node` processes on loopback, runs its schedule, writes reports.
        .target(
            name: "RumorMesh",
            dependencies: ["RumorCore", "RumorUV", "RumorTopology", "RumorSecurity"]
        ),
        // Options and logging shared by both executables, without Foundation (the node must stay small).
        .target(
            name: "RumorCommandLine",
            dependencies: [
                "RumorCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The node process alone: core, runtime and crypto, no simulator, launcher or Foundation, so that
        // each member of a mesh costs little memory. `rumor node` hands over to it.
        .executableTarget(
            name: "rumor-node",
            dependencies: [
                "RumorCore",
                "RumorUV",
                "RumorSecurity",
                "RumorCommandLine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The Swift runtime linked in, so only the pages the node touches are resident, not all of
            // libswiftCore and libFoundationEssentials (16.0 → 13.7 MiB peak RSS for an idle node);
            // FoundationEssentials' static archive needs its two helper libraries named. Not position
            // independent: no start-up relocations to write into the binary's data (another 0.4 MiB).
            linkerSettings: [.unsafeFlags(["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-Xclang-linker", "-no-pie"])]
        ),
        .executableTarget(
            name: "rumor",
            dependencies: [
                "RumorCore",
                "RumorUV",
                "RumorSim",
                "RumorExperiments",
                "RumorTopology",
                "RumorSecurity",
                "RumorMesh",
                "RumorBench",
                "RumorCommandLine",
                "CTransportCeiling",
                "CRelayFloor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The test trait that runs simulator-backed tests inside an invariant ledger.
        .target(name: "SimulationTestSupport", dependencies: ["RumorSim"], path: "Tests/SimulationTestSupport"),
        .testTarget(name: "RumorCoreTests", dependencies: ["RumorCore", "RumorSim", "RumorGraph", "SimulationTestSupport"]),
        .testTarget(name: "RumorSimTests", dependencies: ["RumorSim", "RumorExperiments", "RumorGraph", "RumorCore", "RumorTopology", "SimulationTestSupport"]),
        .testTarget(name: "RumorTopologyTests", dependencies: ["RumorTopology", "RumorGraph", "RumorCore"]),
        .testTarget(
            name: "RumorTests",
            dependencies: ["Rumor", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")]
        ),
        // Yams: the three-pod test reads the node arguments from the Kubernetes manifest itself; RumorTopology
        // for the namespace bench's addresses.
        .testTarget(name: "RumorUVTests", dependencies: ["RumorUV", "RumorCore", "RumorSecurity", "RumorCommandLine", "RumorTopology",
                                                         .product(name: "Yams", package: "Yams")]),
        // Crypto too: the tests re-derive the key schedule by hand to check the implementation against its spec.
        .testTarget(
            name: "RumorSecurityTests",
            dependencies: ["RumorSecurity", .product(name: "Crypto", package: "swift-crypto")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
