// swift-tools-version: 6.0
// Coverage-guided fuzz targets (libFuzzer). Not part of the main build: scripts/fuzz builds this
// package with `-sanitize=fuzzer` (libFuzzer supplies `main`), see docs/RELIABILITY.md.
import PackageDescription

let shardgate: Target.Dependency = .product(name: "ShardgateFuzzable", package: "shardgate")
let nio: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let embedded: Target.Dependency = .product(name: "NIOEmbedded", package: "swift-nio")

let package = Package(
    name: "shardgate-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "shardgate", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // libFuzzer's driver, called from each target's main.swift.
        .target(name: "CFuzzerDriver", path: "Targets/CFuzzerDriver"),
        .executableTarget(name: "FuzzRESPRequest", dependencies: ["CFuzzerDriver", shardgate, nio], path: "Targets/FuzzRESPRequest"),
        .executableTarget(name: "FuzzRESPReply", dependencies: ["CFuzzerDriver", shardgate, nio], path: "Targets/FuzzRESPReply"),
        .executableTarget(name: "FuzzConfig", dependencies: ["CFuzzerDriver", shardgate], path: "Targets/FuzzConfig"),
        .executableTarget(name: "FuzzRDB", dependencies: ["CFuzzerDriver", shardgate], path: "Targets/FuzzRDB"),
        // An in-process data node (no sockets) for the two targets below.
        .target(
            name: "FuzzNodeSupport",
            dependencies: [shardgate, nio, embedded, .product(name: "Logging", package: "swift-log")],
            path: "Targets/FuzzNodeSupport"),
        .executableTarget(name: "FuzzAOF", dependencies: ["CFuzzerDriver", "FuzzNodeSupport", shardgate, nio], path: "Targets/FuzzAOF"),
        .executableTarget(name: "FuzzCommand", dependencies: ["CFuzzerDriver", "FuzzNodeSupport", shardgate, nio], path: "Targets/FuzzCommand"),
    ],
    swiftLanguageModes: [.v6]
)
