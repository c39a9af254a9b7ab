// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "telemetry",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "telemetry", targets: ["telemetry"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
    ],
    targets: [
        // Settings: the one layer that reads the platform's settings (file + environment).
        .target(
            name: "Settings", dependencies: [.product(name: "Configuration", package: "swift-configuration")],
            path: "Platform/Settings", swiftSettings: strict),

        // Devices: what a device is and says.
        .target(name: "SensorModel", path: "Devices/SensorModel", swiftSettings: strict),
        .target(name: "CCRC32C", path: "Devices/CCRC32C"),
        .target(name: "WireFormats", dependencies: ["SensorModel", "CCRC32C"], path: "Devices/WireFormats", swiftSettings: strict),
        .target(
            name: "DeviceEmulator",
            dependencies: [
                "SensorModel", "WireFormats", "MQTT", "TelemetryStore", .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Devices/DeviceEmulator", swiftSettings: strict),

        // Ingest: MQTT in, pipeline per sensor type.
        .systemLibrary(
            name: "CMosquitto", path: "Ingest/CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        .target(
            name: "MQTT", dependencies: ["CMosquitto", .product(name: "Logging", package: "swift-log")],
            path: "Ingest/MQTT", swiftSettings: strict),
        .target(
            name: "IngestService",
            dependencies: [
                "SensorModel", "WireFormats", "MQTT", "TelemetryStore", "Settings",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Ingest/IngestService", swiftSettings: strict),
        // Storage: PostgreSQL and the REST face of what is stored.
        .systemLibrary(
            name: "CLibPQ", path: "Storage/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .target(name: "Postgres", dependencies: ["CLibPQ"], path: "Storage/Postgres", swiftSettings: strict),
        // libcrypto for the PBKDF2 password hashes mosquitto verifies (device credentials).
        .systemLibrary(
            name: "CLibCrypto", path: "Storage/CLibCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        .target(
            name: "TelemetryStore",
            dependencies: ["Postgres", "CLibCrypto", "SensorModel", .product(name: "Logging", package: "swift-log")],
            path: "Storage/TelemetryStore", swiftSettings: strict),
        .target(
            name: "QueryService",
            dependencies: [
                "TelemetryStore", "SensorModel", "Settings",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Storage/QueryService", swiftSettings: strict),

        // The one executable: a subcommand per service (wiring only).
        .executableTarget(
            name: "telemetry",
            dependencies: [
                "IngestService", "QueryService", "DeviceEmulator", "Settings", "SensorModel", "MQTT", "TelemetryStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Platform/telemetry", swiftSettings: strict),

        // Fuzzing and benchmarks of the wire-format decoders (scripts/fuzz.sh, Benchmarks/DecodeBenchmark).
        .target(name: "FuzzSupport", dependencies: ["SensorModel", "WireFormats"], path: "Fuzz/FuzzSupport", swiftSettings: strict),
        .executableTarget(name: "FuzzTM", dependencies: ["FuzzSupport", "SensorModel"], path: "Fuzz/FuzzTM", swiftSettings: strict),
        .executableTarget(name: "FuzzLPP", dependencies: ["FuzzSupport", "SensorModel"], path: "Fuzz/FuzzLPP", swiftSettings: strict),
        .executableTarget(name: "FuzzSenMLJSON", dependencies: ["FuzzSupport", "SensorModel"], path: "Fuzz/FuzzSenMLJSON", swiftSettings: strict),
        .executableTarget(name: "FuzzSenMLCBOR", dependencies: ["FuzzSupport", "SensorModel"], path: "Fuzz/FuzzSenMLCBOR", swiftSettings: strict),
        .executableTarget(name: "FuzzJSON", dependencies: ["FuzzSupport", "SensorModel"], path: "Fuzz/FuzzJSON", swiftSettings: strict),
        .executableTarget(name: "FuzzText", dependencies: ["FuzzSupport", "SensorModel"], path: "Fuzz/FuzzText", swiftSettings: strict),
        .executableTarget(
            name: "EndToEndBenchmark", dependencies: ["CMosquitto", "MQTT", "Postgres", "SensorModel", "TelemetryStore"],
            path: "Benchmarks/EndToEndBenchmark", exclude: [], swiftSettings: strict),
        .executableTarget(name: "DecodeBenchmark", dependencies: ["SensorModel", "WireFormats"], path: "Benchmarks/DecodeBenchmark", swiftSettings: strict),
        // Query latency over REST against a seeded PostgreSQL (scripts/bench-query.sh).
        .executableTarget(
            name: "QueryBenchmark",
            dependencies: [
                "QueryService", "TelemetryStore", "Postgres", "SensorModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Benchmarks/QueryBenchmark", swiftSettings: strict),

        // The dashboard's figures against a running platform (scripts/bench-dashboard.sh).
        .executableTarget(
            name: "DashboardBenchmark", dependencies: ["MQTT", "Postgres", "SensorModel", "TelemetryStore"],
            path: "Benchmarks/DashboardBenchmark", swiftSettings: strict),

        // Tests: one target per library, plus integration tests against real servers.
        .testTarget(name: "SettingsTests", dependencies: ["Settings"], path: "Tests/SettingsTests"),
        .testTarget(name: "SensorModelTests", dependencies: ["SensorModel"], path: "Tests/SensorModelTests", resources: [.copy("Fixtures")]),
        .testTarget(name: "WireFormatsTests", dependencies: ["WireFormats", "SensorModel"], path: "Tests/WireFormatsTests", resources: [.copy("testcases")]),
        .testTarget(name: "TelemetryStoreTests", dependencies: ["TelemetryStore", "SensorModel"], path: "Tests/TelemetryStoreTests"),
        .testTarget(name: "QueryServiceTests", dependencies: [
            "QueryService", "TelemetryStore", "Settings", .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], path: "Tests/QueryServiceTests"),
        .testTarget(name: "IngestServiceTests", dependencies: ["IngestService", "MQTT"], path: "Tests/IngestServiceTests"),
        .testTarget(name: "IntegrationTests", dependencies: [
            "SensorModel", "WireFormats", "MQTT", "Postgres", "TelemetryStore", "IngestService", "QueryService", "DeviceEmulator",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ], path: "Tests/IntegrationTests"),
    ]
)
