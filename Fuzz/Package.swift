// swift-tools-version:6.0
// libFuzzer targets for Rumor's untrusted-input surfaces: the frame decoder, the cluster-key handshake and
// sealed frames, and the node's link state machine. A package of its own so that the root package never
// builds with sanitizers; `scripts/fuzz` builds and runs it (each fuzz product on its own: FuzzSeeds has a
// `main` of its own and must not be linked against libFuzzer's).
import PackageDescription

let package = Package(
    name: "RumorFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Rumor", path: ".."),
        // Already in the root package's graph: the same pins, nothing new to resolve.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The input formats the fuzz targets read and the seed generator writes, and the fixed keys and
        // configuration they share.
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "RumorCore", package: "Rumor"),
                .product(name: "RumorSecurity", package: "Rumor"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // One executable per libFuzzer entry point (LLVMFuzzerTestOneInput).
        .executableTarget(
            name: "FuzzFrameDecoder",
            dependencies: ["FuzzSupport", .product(name: "RumorCore", package: "Rumor")]
        ),
        .executableTarget(
            name: "FuzzHandshake",
            dependencies: ["FuzzSupport", .product(name: "RumorSecurity", package: "Rumor")]
        ),
        .executableTarget(
            name: "FuzzNodeConnection",
            dependencies: ["FuzzSupport", .product(name: "RumorCore", package: "Rumor")]
        ),
        // Writes the seed corpora under ../Tests/FuzzCorpus: `swift run --scratch-path .build-seeds FuzzSeeds ../Tests/FuzzCorpus`
        // (a plain build, no sanitizers).
        .executableTarget(
            name: "FuzzSeeds",
            dependencies: [
                "FuzzSupport",
                .product(name: "RumorCore", package: "Rumor"),
                .product(name: "RumorSecurity", package: "Rumor"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
