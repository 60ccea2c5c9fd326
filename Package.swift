// swift-tools-version: 6.1
import PackageDescription

/// Settings every Dateline target shares: Swift 6 language mode (strict concurrency) plus the upcoming
/// features the Swift server ecosystem has adopted.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "dateline",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DatelineProtocol", targets: ["DatelineProtocol"]),
        .library(name: "DatelineStorage", targets: ["DatelineStorage"]),
        .library(name: "DatelineArticles", targets: ["DatelineArticles"]),
        .library(name: "DatelineIngest", targets: ["DatelineIngest"]),
        .library(name: "DatelineExtraction", targets: ["DatelineExtraction"]),
        .library(name: "DatelineSearch", targets: ["DatelineSearch"]),
        .library(name: "DatelineQuery", targets: ["DatelineQuery"]),
        .executable(name: "dateline-ingest", targets: ["DatelineIngestServer"]),
        .executable(name: "dateline-query", targets: ["DatelineQueryServer"]),
        .executable(name: "dateline", targets: ["DatelineCLI"]),
        .library(name: "DatelineClient", targets: ["DatelineClient"]),
        .library(name: "DatelineMetrics", targets: ["DatelineMetrics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["JSON", "YAML"]),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        /// The system's zlib (Debian `zlib1g-dev`), found through pkg-config.
        .systemLibrary(
            name: "CDatelineZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        /// The wire protocol shared by `dateline-ingest`, `dateline-query` and the `dateline` CLI.
        .target(
            name: "DatelineProtocol",
            dependencies: [
                "CDatelineZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The durable, segmented, checksummed record log behind dateline-ingest.
        .target(
            name: "DatelineStorage",
            dependencies: [
                "CDatelineZlib",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The ingest log on PostgreSQL: many ingest nodes share one log, deduplicated by the database.
        .target(
            name: "DatelinePostgres",
            dependencies: [
                "DatelineStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Article parsing shared by dateline-ingest and the CLI: plain text, JSON, JSON Lines.
        .target(
            name: "DatelineArticles",
            dependencies: ["DatelineProtocol"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineArticlesTests",
            dependencies: ["DatelineArticles", "DatelineProtocol"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        /// Entities, offices, dates, topics, quotes and events read out of article bodies: rules and gazetteers.
        .target(
            name: "DatelineExtraction",
            dependencies: ["DatelineProtocol", "CDatelineZlib"],
            exclude: ["Data/countries.LICENSE"],
            resources: [.copy("Data/countries.tsv"), .copy("Data/lexicon.txt"), .copy("Data/ner.model")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineExtractionTests",
            dependencies: ["DatelineExtraction", "DatelineArticles", "DatelineProtocol"],
            swiftSettings: swiftSettings
        ),
        /// dateline-ingest's pipeline and protocol handlers.
        .target(
            name: "DatelineIngest",
            dependencies: [
                "DatelineProtocol",
                "DatelineStorage",
                "DatelineArticles",
                "DatelineExtraction",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The Prometheus endpoint of both services: one small HTTP/1.1 server (NIOHTTP1) and the process's own
        /// figures.
        .target(
            name: "DatelineMetrics",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineMetricsTests",
            dependencies: [
                "DatelineMetrics",
                "DatelineTestSupport",
                "DatelineIngest",
                "DatelineProtocol",
                "DatelineClient",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// What the two service executables share: logging, port-file, TLS and metrics options.
        .target(
            name: "DatelineServiceSupport",
            dependencies: [
                "DatelineProtocol",
                "DatelineMetrics",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Backups of the ingest log: checksummed, compressed chunks of LogBatch records and a manifest; restore
        /// into an empty log of either backend.
        .target(
            name: "DatelineBackup",
            dependencies: [
                "CDatelineZlib",
                "DatelineProtocol",
                "DatelineStorage",
                "DatelineSearch",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The `dateline-ingest` executable: flags and environment → configuration → ServiceGroup.
        .executableTarget(
            name: "DatelineIngestServer",
            dependencies: [
                "DatelineBackup",
                "DatelineIngest",
                "DatelinePostgres",
                "DatelineServiceSupport",
                "DatelineProtocol",
                "DatelineStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineIngestTests",
            dependencies: [
                "DatelineIngest",
                "DatelineTestSupport",
                "DatelineArticles",
                "DatelineProtocol",
                "DatelineStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Text analysis, the inverted index and ranking behind dateline-query.
        .target(
            name: "DatelineSearch",
            dependencies: ["CDatelineZlib", "DatelineStorage"],
            swiftSettings: swiftSettings
        ),
        /// dateline-query: follows the ingest log, indexes, answers searches.
        .target(
            name: "DatelineQuery",
            dependencies: [
                "CDatelineZlib",
                "DatelineProtocol",
                "DatelineStorage",
                "DatelineSearch",
                "DatelineExtraction",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The `dateline-query` executable.
        .executableTarget(
            name: "DatelineQueryServer",
            dependencies: [
                "DatelineBackup",
                "DatelineQuery",
                "DatelineServiceSupport",
                "DatelineProtocol",
                "DatelineSearch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The client library the `dateline` CLI is a thin layer over.
        .target(
            name: "DatelineClient",
            dependencies: ["DatelineProtocol", "DatelineArticles"],
            swiftSettings: swiftSettings
        ),
        /// Dateline traffic read back from what was captured: hex dumps, raw byte streams, pcap and pcapng captures
        /// (TCP reassembled), decoded frame by frame (`dateline decode`).
        .target(
            name: "DatelineWire",
            dependencies: [
                "DatelineProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineWireTests",
            dependencies: [
                "DatelineWire",
                "DatelineProtocol",
                "DatelineTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        /// The `dateline` CLI.
        .executableTarget(
            name: "DatelineCLI",
            dependencies: [
                "DatelineBackup",
                "DatelineClient",
                "DatelineExtraction",
                "DatelineProtocol",
                "DatelineArticles",
                "DatelineWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        /// Test support: both real services on ephemeral ports, torn down even when a test fails.
        .target(
            name: "DatelineTestSupport",
            dependencies: [
                "DatelineIngest",
                "DatelineQuery",
                "DatelineProtocol",
                "DatelineClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineQueryTests",
            dependencies: [
                "DatelineBackup",
                "DatelineTestSupport",
                "DatelineStorage",
                "DatelineClient",
                "DatelineQuery",
                "DatelineIngest",
                "DatelineProtocol",
                "DatelineSearch",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineSearchTests",
            dependencies: ["DatelineSearch", "DatelineStorage"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineStorageTests",
            dependencies: [
                "DatelineStorage",
                "DatelineTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelinePostgresTests",
            dependencies: [
                "DatelinePostgres",
                "DatelineIngest",
                "DatelineProtocol",
                "DatelineStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DatelineProtocolTests",
            dependencies: [
                "DatelineTestSupport",
                "DatelineProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
