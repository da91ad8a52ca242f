// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "skein",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "skein-store", targets: ["skein-store"]),
        .executable(name: "skein-auditd", targets: ["skein-auditd"]),
        .executable(name: "skein-gateway", targets: ["skein-gateway"]),
        .executable(name: "skein-replicator", targets: ["skein-replicator"]),
        .executable(name: "skein-bench", targets: ["skein-bench"]),
        .executable(name: "skein", targets: ["skein"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        // C bindings over the Debian packages.
        .systemLibrary(name: "CLMDB", path: "Shared/CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CZMQ", path: "Shared/CZMQ", providers: [.apt(["libzmq3-dev"])]),
        // Per-thread CPU and I/O priority (Linux syscalls Swift cannot call directly).
        .systemLibrary(name: "CThread", path: "Shared/CThread"),

        // Safe wrappers.
        .target(name: "SkeinLMDB", dependencies: ["CLMDB"], path: "Shared/SkeinLMDB", swiftSettings: swiftSettings),
        .target(name: "SkeinZMQ", dependencies: ["CZMQ"], path: "Shared/SkeinZMQ", swiftSettings: swiftSettings),

        // Pure logic and codecs: JSON values, HLC, config, wire messages, search evaluation.
        .target(
            name: "SkeinCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            path: "Shared/SkeinCore",
            swiftSettings: swiftSettings
        ),
        // Replication logic with no I/O: last-write-wins, the publisher and subscriber
        // sessions. Driven by messages and a clock, tested by deterministic simulation.
        .target(name: "SkeinReplication", dependencies: ["SkeinCore"], path: "Shared/SkeinReplication", swiftSettings: swiftSettings),
        // The on-disk layout shared by store (writer) and auditd (reader, pruner).
        .target(name: "SkeinStorage", dependencies: ["SkeinCore", "SkeinLMDB", "SkeinReplication"], path: "Shared/SkeinStorage", swiftSettings: swiftSettings),
        // The replication transport: TLS 1.3 WebSocket connections straight on SwiftNIO, with a
        // source address for dialling and SO_REUSEPORT for listening (docs/INTERFACES.md §8).
        .target(
            name: "SkeinPeerNet",
            dependencies: [
                "SkeinCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/SkeinPeerNet",
            swiftSettings: swiftSettings
        ),
        // Process plumbing every service uses: logging, RPC server/client over ZeroMQ, signals.
        .target(
            name: "SkeinService",
            dependencies: [
                "CThread", "SkeinCore", "SkeinZMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Shared/SkeinService",
            swiftSettings: swiftSettings
        ),

        // Running a local cluster: node configs, certificates (swift-certificates), service
        // processes with pid files, health waits, cluster.json (docs/INTERFACES.md §4).
        .target(
            name: "SkeinLauncher",
            dependencies: [
                "SkeinCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Shared/SkeinLauncher",
            swiftSettings: swiftSettings
        ),

        .executableTarget(name: "skein-store", dependencies: ["CThread", "SkeinCore", "SkeinLMDB", "SkeinZMQ", "SkeinStorage", "SkeinReplication", "SkeinService", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics")], path: "Services/store", swiftSettings: swiftSettings),
        .executableTarget(name: "skein-auditd", dependencies: ["SkeinCore", "SkeinLMDB", "SkeinStorage", "SkeinService", .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics")], path: "Services/auditd", swiftSettings: swiftSettings),
        .executableTarget(
            name: "skein-gateway",
            dependencies: [
                "SkeinCore", "SkeinService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Services/gateway",
            swiftSettings: swiftSettings
        ),
        // Peer connections (mTLS WebSocket), subscriptions, publishing, `replication_status`.
        .executableTarget(
            name: "skein-replicator",
            dependencies: [
                "SkeinCore", "SkeinReplication", "SkeinService", "SkeinPeerNet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Services/replicator",
            swiftSettings: swiftSettings
        ),
        // The benchmarks' figures: series files and their gnuplot rendering (no dependencies).
        .target(name: "SkeinBenchPlots", path: "Shared/SkeinBenchPlots", swiftSettings: swiftSettings),
        .executableTarget(name: "skein-bench", dependencies: ["SkeinCore", "SkeinLMDB", "SkeinStorage", "SkeinReplication", "SkeinService", "SkeinBenchPlots", "SkeinLauncher", .product(name: "Logging", package: "swift-log")], path: "Services/bench", swiftSettings: swiftSettings),
        // The command line: `skein cluster|ctl|bench` (compose/local wraps it).
        .executableTarget(
            name: "skein",
            dependencies: ["SkeinCore", "SkeinLauncher", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Services/skein",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "SkeinUnitTests",
            dependencies: [
                "SkeinCore", "SkeinLMDB", "SkeinZMQ", "SkeinStorage", "SkeinService", "SkeinReplication", "SkeinPeerNet", "SkeinBenchPlots", "SkeinLauncher",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SkeinUnitTests"
        ),
        .testTarget(name: "SkeinSimulationTests", dependencies: ["SkeinCore", "SkeinReplication"], path: "Tests/SkeinSimulationTests"),
        .testTarget(name: "SkeinProcessTests", dependencies: ["SkeinCore", "SkeinPeerNet", "SkeinReplication", "SkeinLauncher", .product(name: "Logging", package: "swift-log"), .product(name: "NIOSSL", package: "swift-nio-ssl")], path: "Tests/SkeinProcessTests"),
    ]
)
