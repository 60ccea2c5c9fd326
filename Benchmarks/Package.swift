// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that peers' dependencies never slow the main build or CI.
let package = Package(
    name: "dateline-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "dateline", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Peers: gRPC and swift-protobuf (their generated code is committed: Benchmarks/Proto/generate.sh).
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        .executableTarget(
            name: "DatelineBenchmarks",
            dependencies: [
                .product(name: "DatelineProtocol", package: "dateline"),
                .product(name: "DatelineArticles", package: "dateline"),
                .product(name: "DatelineIngest", package: "dateline"),
                .product(name: "DatelineStorage", package: "dateline"),
                .product(name: "DatelineQuery", package: "dateline"),
                .product(name: "DatelineClient", package: "dateline"),
                .product(name: "DatelineSearch", package: "dateline"),
                .product(name: "DatelineExtraction", package: "dateline"),
                .product(name: "DatelineMetrics", package: "dateline"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
