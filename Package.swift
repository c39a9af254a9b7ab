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
        // Alert webhooks: Foundation's URLSession on Linux lost socket events under load (a hung webhook's
        // deadline held every other webhook's answer); already built for HummingbirdTesting.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Only for the Sparkplug B baseline: the benchmark's and the differential tests' reference decoder.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    ],
    targets: [
        // Core: settings, read by one layer (file + environment).
        .target(
            name: "Settings", dependencies: [.product(name: "Configuration", package: "swift-configuration")],
            path: "Core/Settings", swiftSettings: strict),

        // Devices: what a device is and says (no I/O).
        .target(name: "SensorModel", path: "Devices/SensorModel", swiftSettings: strict),
        .target(name: "CCRC32C", path: "Devices/CCRC32C"),
        .target(name: "WireFormats", dependencies: ["SensorModel", "CCRC32C"], path: "Devices/WireFormats", swiftSettings: strict),
        // The codec of compacted readings (times, integers, doubles per block), beside the payload decoders.
        .target(name: "BlockCodec", path: "Devices/BlockCodec", swiftSettings: strict),

        // Drivers: thin Swift over the C clients (libmosquitto, libpq, libcrypto).
        .systemLibrary(
            name: "CMosquitto", path: "Drivers/CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]),
        .target(
            name: "MQTT", dependencies: ["CMosquitto", .product(name: "Logging", package: "swift-log")],
            path: "Drivers/MQTT", swiftSettings: strict),
        .systemLibrary(
            name: "CLibPQ", path: "Drivers/CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),
        .target(name: "Postgres", dependencies: ["CLibPQ"], path: "Drivers/Postgres", swiftSettings: strict),
        .systemLibrary(
            name: "CLibCrypto", path: "Drivers/CLibCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),

        // Storage: PostgreSQL as the platform uses it. Schema <- events <- (writer, reader) <- operations.
        .target(
            name: "StorageCore",
            dependencies: ["Postgres", "SensorModel", "BlockCodec", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Storage/StorageCore", swiftSettings: strict),
        .target(name: "StorageEvents", dependencies: ["StorageCore", "Postgres", "SensorModel"], path: "Storage/StorageEvents", swiftSettings: strict),
        .target(
            name: "StorageWriter", dependencies: ["StorageCore", "StorageEvents", "Postgres", "SensorModel"],
            path: "Storage/StorageWriter", swiftSettings: strict),
        .target(
            name: "StorageReader",
            dependencies: [
                "StorageCore", "StorageEvents", "Postgres", "SensorModel", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Storage/StorageReader", swiftSettings: strict),
        .target(
            name: "StorageOperations",
            dependencies: ["StorageCore", "StorageEvents", "StorageReader", "Postgres", "SensorModel"],
            path: "Storage/StorageOperations", swiftSettings: strict),

        // Identity: device credentials and certificates, and the broker files that enforce them.
        .target(
            name: "DeviceIdentity",
            dependencies: ["StorageCore", "Postgres", "CLibCrypto", "SensorModel", .product(name: "Logging", package: "swift-log")],
            path: "Identity/DeviceIdentity", swiftSettings: strict),

        // Ingest: MQTT in, one pipeline per sensor type, PostgreSQL out.
        .target(
            name: "IngestService",
            dependencies: [
                "SensorModel", "WireFormats", "MQTT", "StorageCore", "StorageEvents", "StorageWriter", "Settings",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Ingest/IngestService", swiftSettings: strict),

        // Query: the REST API and the dashboard.
        .target(
            name: "QueryService",
            dependencies: [
                "StorageCore", "StorageEvents", "StorageReader", "StorageOperations", "DeviceIdentity", "SensorModel", "Settings",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Query/QueryService", swiftSettings: strict),

        // App: the one executable, a subcommand per service (wiring only).
        .executableTarget(
            name: "telemetry",
            dependencies: [
                "IngestService", "QueryService", "DeviceEmulator", "DeviceIdentity", "Settings", "SensorModel", "MQTT",
                "StorageCore", "StorageOperations",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "App/telemetry", swiftSettings: strict),

        // Tools: what runs against the platform — the emulator, fuzzers, benchmarks, test support.
        .target(
            name: "DeviceEmulator",
            dependencies: [
                "SensorModel", "WireFormats", "MQTT", "StorageCore", "StorageReader", "StorageOperations", .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Tools/DeviceEmulator", swiftSettings: strict),
        .target(name: "FuzzSupport", dependencies: ["SensorModel", "WireFormats"], path: "Tools/Fuzz/FuzzSupport", swiftSettings: strict),
        .executableTarget(name: "FuzzTM", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzTM", swiftSettings: strict),
        .executableTarget(name: "FuzzLPP", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzLPP", swiftSettings: strict),
        .executableTarget(name: "FuzzSenMLJSON", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzSenMLJSON", swiftSettings: strict),
        .executableTarget(name: "FuzzSenMLCBOR", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzSenMLCBOR", swiftSettings: strict),
        .executableTarget(name: "FuzzJSON", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzJSON", swiftSettings: strict),
        .executableTarget(name: "FuzzText", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzText", swiftSettings: strict),
        .executableTarget(name: "FuzzChirpStack", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzChirpStack", swiftSettings: strict),
        .executableTarget(name: "FuzzTTN", dependencies: ["FuzzSupport", "SensorModel"], path: "Tools/Fuzz/FuzzTTN", swiftSettings: strict),
        .executableTarget(name: "FuzzSparkplug", dependencies: ["FuzzSupport"], path: "Tools/Fuzz/FuzzSparkplug", swiftSettings: strict),
        .executableTarget(name: "FuzzBlocks", dependencies: ["FuzzSupport", "BlockCodec"], path: "Tools/Fuzz/FuzzBlocks", swiftSettings: strict),
        // Helpers shared by the integration tests and the benchmarks: free ports, HTTP polling, raw MQTT.
        .target(
            name: "TestSupport", dependencies: [.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            path: "Tools/TestSupport", swiftSettings: strict),
        .executableTarget(
            name: "EndToEndBenchmark",
            dependencies: [
                "CMosquitto", "MQTT", "Postgres", "SensorModel", "StorageCore", "StorageWriter", "DeviceIdentity", "TestSupport",
            ],
            path: "Tools/Benchmarks/EndToEndBenchmark", swiftSettings: strict),
        // Eclipse Tahu's Sparkplug B schema through swift-protobuf (generated once, committed).
        .target(
            name: "SparkplugProtobuf", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tools/Benchmarks/SparkplugProtobuf"),
        .executableTarget(
            name: "DecodeBenchmark", dependencies: ["SensorModel", "WireFormats", "BlockCodec", "SparkplugProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tools/Benchmarks/DecodeBenchmark", swiftSettings: strict),
        .executableTarget(
            name: "QueryBenchmark",
            dependencies: [
                "QueryService", "StorageCore", "StorageEvents", "StorageWriter", "StorageReader", "StorageOperations", "Postgres", "SensorModel", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Tools/Benchmarks/QueryBenchmark", swiftSettings: strict),
        .executableTarget(
            name: "CompactionBenchmark",
            dependencies: ["Postgres", "SensorModel", "StorageCore", "StorageOperations", "StorageReader", "StorageWriter", "DeviceEmulator", "TestSupport"],
            path: "Tools/Benchmarks/CompactionBenchmark", swiftSettings: strict),
        .executableTarget(
            name: "DeviceStatusBenchmark", dependencies: ["Postgres", "SensorModel", "StorageCore", "StorageEvents", "StorageOperations"],
            path: "Tools/Benchmarks/DeviceStatusBenchmark", swiftSettings: strict),
        .executableTarget(
            name: "AlertLatencyBenchmark",
            dependencies: [
                "MQTT", "Postgres", "StorageCore", "StorageEvents", "StorageOperations", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Tools/Benchmarks/AlertLatencyBenchmark", swiftSettings: strict),
        .executableTarget(
            name: "DashboardBenchmark", dependencies: ["MQTT", "Postgres", "SensorModel", "StorageCore", "StorageWriter", "DeviceIdentity", "TestSupport"],
            path: "Tools/Benchmarks/DashboardBenchmark", swiftSettings: strict),

        // Tests: one target per library, plus integration tests against real servers.
        .testTarget(name: "SettingsTests", dependencies: ["Settings"], path: "Tests/SettingsTests"),
        .testTarget(name: "SensorModelTests", dependencies: ["SensorModel"], path: "Tests/SensorModelTests", resources: [.copy("Fixtures")]),
        .testTarget(
            name: "WireFormatsTests", dependencies: ["WireFormats", "SensorModel", "SparkplugProtobuf", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            path: "Tests/WireFormatsTests", resources: [.copy("testcases")]),
        .testTarget(name: "BlockCodecTests", dependencies: ["BlockCodec"], path: "Tests/BlockCodecTests", resources: [.copy("testcases")]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT"], path: "Tests/MQTTTests"),
        .testTarget(name: "StorageCoreTests", dependencies: ["StorageCore", "Postgres"], path: "Tests/StorageCoreTests"),
        .testTarget(name: "StorageWriterTests", dependencies: ["StorageWriter", "StorageEvents", "SensorModel"], path: "Tests/StorageWriterTests"),
        .testTarget(name: "DeviceIdentityTests", dependencies: ["DeviceIdentity", "SensorModel"], path: "Tests/DeviceIdentityTests"),
        .testTarget(name: "QueryServiceTests", dependencies: [
            "QueryService", "StorageCore", "StorageReader", "DeviceIdentity", "Settings", "SensorModel", "TestSupport",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus"),
        ], path: "Tests/QueryServiceTests"),
        .testTarget(name: "DeviceEmulatorTests", dependencies: ["DeviceEmulator", "SensorModel"], path: "Tests/DeviceEmulatorTests"),
        .testTarget(
            name: "IngestServiceTests",
            dependencies: ["IngestService", "MQTT", "SensorModel", "StorageWriter", "WireFormats", .product(name: "Logging", package: "swift-log")],
            path: "Tests/IngestServiceTests"),
        .testTarget(name: "IntegrationTests", dependencies: [
            "SensorModel", "WireFormats", "MQTT", "Postgres", "StorageCore", "StorageEvents", "StorageWriter", "StorageReader",
            "StorageOperations", "DeviceIdentity", "IngestService", "QueryService", "DeviceEmulator", "TestSupport",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"), .product(name: "Prometheus", package: "swift-prometheus"),
        ], path: "Tests/IntegrationTests"),
    ]
)
