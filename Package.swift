// swift-tools-version:6.1
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
        .library(name: "ChronicleRuntime", targets: ["ChronicleRuntime"]),
        .library(name: "ChronicleHTTP", targets: ["ChronicleHTTP"]),
        .library(name: "ChronicleHost", targets: ["ChronicleHost"]),
        .library(name: "ChronicleTesting", targets: ["ChronicleTesting"]),
        .library(name: "TodoDomain", targets: ["TodoDomain"]),
        .library(name: "BankDomain", targets: ["BankDomain"]),
        .library(name: "PizzaDomain", targets: ["PizzaDomain"]),
        .library(name: "CartDomain", targets: ["CartDomain"]),
        .executable(name: "chronicle", targets: ["chronicle"]),
        .executable(name: "todo", targets: ["todo"]),
        .executable(name: "counter-example", targets: ["counter-example"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // SHA-1 for name-based (version 5) event ids derived from command ids; PostgresNIO needs it anyway.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"6.0.0"),
        // `swift package generate-documentation --target Chronicle` (DocC; articles in Sources/Chronicle/Chronicle.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // KurrentDB's gRPC client protocol (issue 23): the code generated from Protos/ is committed
        // (scripts/generate-protos); no build runs protoc.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // KurrentDB's v1 client protocol as Swift: messages and service stubs generated from
        // Protos/kurrentdb/v1 by scripts/generate-protos, and committed.
        .target(
            name: "ChronicleKurrentProtocol",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/ChronicleKurrentProtocol"
        ),
        // Core vocabulary, protocols and the in-memory reference store. No I/O.
        .target(
            name: "ChronicleKurrent",
            dependencies: [
                "Chronicle", "ChronicleRuntime", "ChronicleKurrentProtocol",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Chronicle",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
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
                // sqlite3_column_decltype: a column's declared type says how to read its value back.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL event store and checkpoints (PostgresNIO), for many processes on many machines.
        .target(
            name: "ChroniclePostgres",
            dependencies: [
                "Chronicle",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // Its pool's errors (a tripped circuit breaker, a pool shut down) are answered 503.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The host of a process: one store, checkpoint store and SQL connection; every module's subscriptions.
        .target(
            name: "ChronicleRuntime",
            dependencies: [
                "Chronicle",
                "ChronicleSQLite",
                "ChroniclePostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The generic HTTP edge on Hummingbird 2: modules' routes and pages, event browsing, the live feed,
        // the admin console, health, metrics, the JSON body kit and the error mapping. No example in it.
        .target(
            name: "ChronicleHTTP",
            dependencies: [
                "Chronicle",
                "ChronicleRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Public")],
            swiftSettings: swiftSettings
        ),
        // A live server on a free port and a JSON client, for the tests of any HTTP module.
        .target(
            name: "ChronicleHTTPTesting",
            dependencies: [
                "Chronicle",
                "ChronicleHTTP",
                "ChronicleRuntime",
                "ChronicleTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // The bank example (the CQRS engine's REPL): its pure domain, accounts with exact money.
        .target(
            name: "BankDomain",
            dependencies: ["Chronicle"],
            path: "Examples/Bank/Domain",
            swiftSettings: swiftSettings
        ),
        // …the bank as a module (its commands on the bus, its read models)…
        .target(
            name: "BankApp",
            dependencies: ["Chronicle", "ChronicleRuntime", "BankDomain"],
            path: "Examples/Bank/App",
            swiftSettings: swiftSettings
        ),
        // …and its web side (its queries and its page under /bank).
        .target(
            name: "BankHTTP",
            dependencies: [
                "BankApp", "BankDomain", "Chronicle", "ChronicleHTTP", "ChronicleRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Examples/Bank/HTTP",
            resources: [.copy("Public")],
            swiftSettings: swiftSettings
        ),
        // The pizza-order pipeline: the request is the first fact; a kitchen process and a courier reactor.
        .target(name: "PizzaDomain", dependencies: ["Chronicle"], path: "Examples/Pizza/Domain", swiftSettings: swiftSettings),
        .target(name: "PizzaApp", dependencies: ["Chronicle", "ChronicleRuntime", "PizzaDomain"], path: "Examples/Pizza/App", swiftSettings: swiftSettings),
        .target(
            name: "PizzaHTTP",
            dependencies: ["PizzaApp", "PizzaDomain", "Chronicle", "ChronicleHTTP", "ChronicleRuntime", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Examples/Pizza/HTTP", resources: [.copy("Public")], swiftSettings: swiftSettings),
        // The shopping cart: one log, the warehouse's and marketing's read models.
        .target(name: "CartDomain", dependencies: ["Chronicle"], path: "Examples/Cart/Domain", swiftSettings: swiftSettings),
        .target(name: "CartApp", dependencies: ["Chronicle", "ChronicleRuntime", "CartDomain"], path: "Examples/Cart/App", swiftSettings: swiftSettings),
        .target(
            name: "CartHTTP",
            dependencies: ["CartApp", "CartDomain", "Chronicle", "ChronicleHTTP", "ChronicleRuntime", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Examples/Cart/HTTP", resources: [.copy("Public")], swiftSettings: swiftSettings),
        // The Todo example, the first application module: its pure domain (decider, events, codec)…
        .target(
            name: "TodoDomain",
            dependencies: ["Chronicle"],
            path: "Examples/Todo/Domain",
            swiftSettings: swiftSettings
        ),
        // …the module around it (read models, the notifier reactor, its mailbox)…
        .target(
            name: "TodoApp",
            dependencies: [
                "Chronicle",
                "ChronicleRuntime",
                "TodoDomain",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/Todo/App",
            swiftSettings: swiftSettings
        ),
        // …and its web side (EventSourcery's API, the TodoMVC page at /).
        .target(
            name: "TodoHTTP",
            dependencies: [
                "Chronicle",
                "ChronicleHTTP",
                "ChronicleRuntime",
                "TodoApp",
                "TodoDomain",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Examples/Todo/HTTP",
            resources: [.copy("Public")],
            swiftSettings: swiftSettings
        ),
        // given/when/then for deciders and the store contract suite every backend passes.
        .target(
            name: "ChronicleTesting",
            dependencies: ["Chronicle"],
            swiftSettings: swiftSettings
        ),
        // Chronicle's command line as a library: `serve`, `worker`, `migrate`, `send`, `projections` and
        // `streams` for the modules of any application (`ChronicleHost<YourApp>.main()`).
        .target(
            name: "ChronicleHost",
            dependencies: [
                "Chronicle",
                "ChronicleSQLite",
                "ChroniclePostgres",
                "ChronicleRuntime",
                "ChronicleKurrent",
                "ChronicleHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // `chronicle`: the example applications hosted by ChronicleHost, and the benchmark tools.
        .executableTarget(
            name: "chronicle",
            dependencies: [
                "Chronicle", "ChronicleSQLite", "ChroniclePostgres", "ChronicleRuntime", "ChronicleHTTP", "ChronicleHost",
                "TodoApp", "TodoHTTP", "BankApp", "BankHTTP", "PizzaApp", "PizzaHTTP", "CartApp", "CartHTTP",
                "ChronicleKurrent", "ChronicleKurrentProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // The benchmark's gRPC client (S11–S13).
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                // The benchmark's raw baseline: SQLite through its C API.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The library example: Chronicle used as a package would use it (README, "Use Chronicle in your package").
        .executableTarget(
            name: "counter-example",
            dependencies: ["Chronicle", "ChronicleSQLite"],
            path: "Examples/Counter",
            swiftSettings: swiftSettings
        ),
        // The `todo` CLI: EventSourcery's scripts/request, against a running server.
        .executableTarget(
            name: "todo",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/Todo/CLI",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChronicleKurrentTests",
            dependencies: ["ChronicleKurrent", "ChronicleKurrentProtocol", "Chronicle"],
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
            name: "ChronicleRuntimeTests",
            dependencies: [
                "Chronicle", "ChronicleRuntime", "ChronicleSQLite", "ChroniclePostgres", "ChronicleTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChronicleHTTPTests",
            dependencies: [
                "Chronicle", "ChronicleHTTP", "ChronicleHTTPTesting", "ChronicleRuntime", "ChronicleTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Pages")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ScaleOutTests",
            dependencies: [
                "Chronicle", "ChroniclePostgres", "ChronicleRuntime", "ChronicleSQLite", "ChronicleTesting", "TodoApp", "TodoDomain",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The stored formats of every application, read from a database an earlier Chronicle wrote.
        .testTarget(
            name: "StoredFormatTests",
            dependencies: [
                "BankApp", "BankDomain", "CartApp", "CartDomain", "Chronicle", "ChronicleRuntime", "ChronicleTesting",
                "PizzaApp", "PizzaDomain", "TodoApp", "TodoDomain", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: [.copy("Corpus")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BankDomainTests",
            dependencies: ["BankDomain", "Chronicle", "ChronicleTesting"],
            path: "Examples/Bank/Tests/BankDomainTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BankHTTPTests",
            dependencies: ["BankHTTP", "BankApp", "BankDomain", "Chronicle", "ChronicleHTTP", "ChronicleHTTPTesting", "ChronicleRuntime", "ChronicleTesting"],
            path: "Examples/Bank/Tests/BankHTTPTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PizzaDomainTests", dependencies: ["PizzaDomain", "Chronicle", "ChronicleTesting"], path: "Examples/Pizza/Tests/PizzaDomainTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PizzaHTTPTests",
            dependencies: ["PizzaHTTP", "PizzaApp", "PizzaDomain", "Chronicle", "ChronicleHTTP", "ChronicleHTTPTesting", "ChronicleRuntime", "ChronicleTesting", "ChroniclePostgres"],
            path: "Examples/Pizza/Tests/PizzaHTTPTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "CartDomainTests", dependencies: ["CartDomain", "Chronicle", "ChronicleTesting"], path: "Examples/Cart/Tests/CartDomainTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CartHTTPTests",
            dependencies: ["CartHTTP", "CartApp", "CartDomain", "Chronicle", "ChronicleHTTP", "ChronicleHTTPTesting", "ChronicleRuntime", "ChronicleTesting", "ChroniclePostgres"],
            path: "Examples/Cart/Tests/CartHTTPTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "TodoDomainTests",
            dependencies: ["TodoDomain", "Chronicle", "ChronicleTesting"],
            path: "Examples/Todo/Tests/TodoDomainTests",
            resources: [.copy("GoldenEvents")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TodoAppTests",
            dependencies: ["TodoApp", "TodoDomain", "Chronicle", "ChronicleRuntime", "ChronicleSQLite", "ChronicleTesting"],
            path: "Examples/Todo/Tests/TodoAppTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TodoHTTPTests",
            dependencies: [
                "TodoHTTP", "TodoApp", "TodoDomain", "Chronicle", "ChronicleHTTP", "ChronicleHTTPTesting", "ChronicleRuntime",
                "ChronicleSQLite", "ChroniclePostgres", "ChronicleTesting", "PizzaApp", "PizzaHTTP",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Examples/Todo/Tests/TodoHTTPTests",
            swiftSettings: swiftSettings
        ),
    ]
)
