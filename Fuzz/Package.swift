// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for Dateline's parsers, in their own package so that the fuzzing build (instrumented with
// -sanitize=fuzzer,address) never touches the main build. Build and run them with scripts/fuzz.sh.
//
// Each fuzzer is an executable whose `LLVMFuzzerTestOneInput` must never crash on any input: thrown errors are
// expected, while a trap, a crash or a sanitizer report is a bug. libFuzzer supplies `main`.
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

/// (product = the name scripts/fuzz.sh and Corpus/ use, target)
let fuzzers: [(product: String, target: String, dependencies: [Target.Dependency])] = [
    ("frame-decoder", "FrameDecoderFuzzer", [.product(name: "DatelineProtocol", package: "dateline"), .product(name: "NIOCore", package: "swift-nio")]),
    ("payload-decoder", "PayloadDecoderFuzzer", [.product(name: "DatelineProtocol", package: "dateline"), .product(name: "NIOCore", package: "swift-nio")]),
    ("decompression", "DecompressionFuzzer", [.product(name: "DatelineProtocol", package: "dateline"), .product(name: "NIOCore", package: "swift-nio")]),
    ("article-plaintext", "PlainTextArticleFuzzer", [.product(name: "DatelineArticles", package: "dateline"), .product(name: "DatelineProtocol", package: "dateline")]),
    ("article-json", "JSONArticleFuzzer", [.product(name: "DatelineArticles", package: "dateline"), .product(name: "DatelineProtocol", package: "dateline")]),
    ("article-jsonl", "JSONLinesArticleFuzzer", [.product(name: "DatelineArticles", package: "dateline"), .product(name: "DatelineProtocol", package: "dateline")]),
    ("article-reuters", "ReutersArticleFuzzer", [.product(name: "DatelineArticles", package: "dateline"), .product(name: "DatelineProtocol", package: "dateline")]),
    ("query-parser", "QueryParserFuzzer", [.product(name: "DatelineSearch", package: "dateline")]),
    ("article-extraction", "ExtractionFuzzer", [
        .product(name: "DatelineArticles", package: "dateline"), .product(name: "DatelineExtraction", package: "dateline"),
        .product(name: "DatelineProtocol", package: "dateline"),
    ]),
]

let package = Package(
    name: "dateline-fuzz",
    platforms: [.macOS(.v15)],
    products: fuzzers.map { .executable(name: $0.product, targets: [$0.target]) },
    dependencies: [
        .package(name: "dateline", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        /// libFuzzer's LLVMFuzzerRunDriver, declared for Swift.
        .target(name: "CLibFuzzer"),
        /// What the fuzzers share: the message-type table, the article pipeline, a trap that names the oracle.
        .target(
            name: "FuzzSupport",
            dependencies: [
                "CLibFuzzer",
                .product(name: "DatelineProtocol", package: "dateline"),
                .product(name: "DatelineArticles", package: "dateline"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ] + fuzzers.map { fuzzer in
        .executableTarget(name: fuzzer.target, dependencies: ["FuzzSupport"] + fuzzer.dependencies, swiftSettings: swiftSettings)
    }
)
