// swift-tools-version:6.0
// A package of your own that hosts its application with Chronicle: README, "Host your own application".
// It depends on Chronicle by path, as a package beside a clone would; `scripts/test` builds it, serves
// it, sends a command over HTTP and reads the read model back.
import PackageDescription

let package = Package(
    name: "Lending",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Chronicle", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "lending",
            dependencies: [
                .product(name: "Chronicle", package: "Chronicle"),
                .product(name: "ChronicleRuntime", package: "Chronicle"),
                .product(name: "ChronicleHTTP", package: "Chronicle"),
                .product(name: "ChronicleHost", package: "Chronicle"),
            ],
            path: "Sources/Lending"
        ),
    ]
)
