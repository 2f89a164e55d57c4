// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
/// The request path's modules. Release builds drop the dynamic exclusivity checks (a thread-local
/// access set consulted on every class-property access: about 8% of the data node's CPU at
/// redis-benchmark -P 16, docs/PERFORMANCE.md). Debug builds, which the tests use, keep them, and
/// the static checks apply everywhere.
let hotPath: [SwiftSetting] = strict + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "shardgate",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shardgate", targets: ["shardgate"]),
        // For the fuzz targets in Fuzz/ (a separate package): the modules they drive in-process.
        .library(name: "ShardgateFuzzable", targets: ["RedisText", "RESP", "Commands", "ACL", "Config", "RDB", "ShardgateNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // Pure layers: no I/O, test in microseconds.
        .target(name: "Routing", swiftSettings: hotPath),
        // Redis's integer spelling (string2ll), shared by RESP, Commands and RDB.
        .target(name: "RedisText", swiftSettings: hotPath),
        .target(name: "RESP", dependencies: ["RedisText", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: hotPath),
        .target(name: "Commands", dependencies: ["RedisText", "RESP"], swiftSettings: hotPath),
        // Redis's ACL rules: users, selectors, categories and the permission check, shared by the
        // data node and the proxy (which checks its own users before routing).
        .target(name: "ACL", dependencies: ["Commands", "RESP", "RedisText"], swiftSettings: hotPath),
        .target(
            name: "Config",
            dependencies: ["Routing", "RESP", "ACL", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Redis's RDB file format: encode and decode, no I/O.
        .target(name: "RDB", dependencies: ["RedisText"], swiftSettings: strict),
        // Network layer.
        .target(
            name: "ShardgateProxy",
            dependencies: [
                "RESP", "RedisText", "Routing", "Commands", "ACL", "Config", "CMallocInfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: hotPath
        ),
        // The C allocator's bytes in use (glibc mallinfo2), for the node's memory accounting.
        .target(name: "CMallocInfo"),
        .target(name: "CForkChild"),
        // A cache prefetch hint (__builtin_prefetch), for the node's pipelined key lookups.
        .target(name: "CPrefetch"),
        // Lua 5.1 for EVAL and FUNCTION (the system's liblua5.1 with Debian's lua-cjson and
        // lua-bitop), and the C side of the node's scripting glue: macros, the sandbox's random
        // numbers, and raising Lua errors outside Swift frames.
        .systemLibrary(
            name: "CLua", pkgConfig: "lua5.1",
            providers: [.apt(["liblua5.1-0-dev", "lua-cjson-dev", "lua-bitop-dev"])]
        ),
        .target(name: "CLuaShim", dependencies: ["CLua"]),
        // The data node: keyspace, commands, expiry, persistence, replication.
        .target(
            name: "ShardgateNode",
            dependencies: [
                "RESP", "RedisText", "Commands", "ACL", "Config", "RDB", "CMallocInfo", "CForkChild", "CPrefetch",
                "CLua", "CLuaShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: hotPath
        ),
        // Redis Sentinel: monitoring, leader election and automatic failover (`shardgate sentinel`).
        .target(
            name: "ShardgateSentinel",
            dependencies: [
                "RESP", "RedisText", "Config",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "shardgate",
            dependencies: [
                "ShardgateProxy", "ShardgateNode", "ShardgateSentinel", "Config", "CMallocInfo",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "RESPTests", dependencies: ["RESP"]),
        .testTarget(name: "RoutingTests", dependencies: ["Routing"]),
        .testTarget(name: "CommandsTests", dependencies: ["Commands", "RedisText"]),
        .testTarget(name: "ACLTests", dependencies: ["ACL", "Commands"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "Routing"]),
        .testTarget(name: "RDBTests", dependencies: ["RDB", "RedisText"]),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "ShardgateNode", "RESP", "Commands", "ACL", "RedisText", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ShardgateProxyTests", dependencies: ["ShardgateProxy", "Commands", "ACL", "RESP", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "ShardgateProxy", "ShardgateNode", "RDB", "Config", .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Clients"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
