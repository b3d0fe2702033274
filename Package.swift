// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Chronicle",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Chronicle", targets: ["Chronicle"]),
        .library(name: "ChronicleSQLite", targets: ["ChronicleSQLite"]),
        .library(name: "ChroniclePostgres", targets: ["ChroniclePostgres"]),
        .library(name: "ChronicleHTTP", targets: ["ChronicleHTTP"]),
        .library(name: "ChronicleTesting", targets: ["ChronicleTesting"]),
        .library(name: "TodoDomain", targets: ["TodoDomain"]),
        .executable(name: "chronicle", targets: ["chronicle"]),
        .executable(name: "todo", targets: ["todo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Core vocabulary, protocols and the in-memory reference store. No I/O.
        .target(
            name: "Chronicle",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The embedded SQLite event store, checkpoints and read models (GRDB on the system SQLite).
        .target(
            name: "ChronicleSQLite",
            dependencies: [
                "Chronicle",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL event store and checkpoints (PostgresNIO), for many processes on many machines.
        .target(
            name: "ChroniclePostgres",
            dependencies: [
                "Chronicle",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pure domain of the Todo example: decider, events, codec.
        .target(
            name: "TodoDomain",
            dependencies: ["Chronicle"],
            path: "Examples/TodoDomain",
            swiftSettings: swiftSettings
        ),
        // The Todo application around the pure domain: SQLite read models, the notifier reactor, its mailbox.
        .target(
            name: "TodoApp",
            dependencies: [
                "Chronicle",
                "ChronicleSQLite",
                "ChroniclePostgres",
                "TodoDomain",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/TodoApp",
            swiftSettings: swiftSettings
        ),
        // The HTTP edge on Hummingbird 2: Todo API, event browsing, static pages.
        .target(
            name: "ChronicleHTTP",
            dependencies: [
                "Chronicle",
                "ChronicleSQLite",
                "TodoDomain",
                "TodoApp",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Public")],
            swiftSettings: swiftSettings
        ),
        // given/when/then for deciders and the store contract suite every backend passes.
        .target(
            name: "ChronicleTesting",
            dependencies: ["Chronicle"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "chronicle",
            dependencies: [
                "Chronicle",
                "ChronicleSQLite",
                "ChronicleHTTP",
                "TodoDomain",
                "TodoApp",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `todo` CLI: EventSourcery's scripts/request, against a running server.
        .executableTarget(
            name: "todo",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChronicleTests",
            dependencies: ["Chronicle", "ChronicleTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChronicleSQLiteTests",
            dependencies: ["Chronicle", "ChronicleSQLite", "ChronicleTesting", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChroniclePostgresTests",
            dependencies: ["Chronicle", "ChroniclePostgres", "ChronicleTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScaleOutTests",
            dependencies: [
                "Chronicle", "ChroniclePostgres", "ChronicleSQLite", "ChronicleTesting", "TodoApp", "TodoDomain",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TodoDomainTests",
            dependencies: ["TodoDomain", "Chronicle", "ChronicleTesting"],
            resources: [.copy("GoldenEvents")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TodoAppTests",
            dependencies: ["TodoApp", "TodoDomain", "Chronicle", "ChronicleSQLite", "ChronicleTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChronicleHTTPTests",
            dependencies: [
                "ChronicleHTTP", "Chronicle", "ChronicleSQLite", "ChronicleTesting", "TodoDomain", "TodoApp",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
