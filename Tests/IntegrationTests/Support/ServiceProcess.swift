import Foundation
import TestSupport

/// The platform's executable (`telemetry <subcommand>`), run as a real process for a test, its output
/// kept in a log file.
final class ServiceProcess: @unchecked Sendable {
    let name: String
    let process = Process()
    let logPath: String
    /// Where an ingest process serves /healthz, /readyz and /metrics (startIngest chooses it).
    var healthPort: Int?
    /// Runs once `stop()` has ended the process (the monolith's catch-all session is ended there).
    var afterStop: (@Sendable () -> Void)?

    /// `workingDirectory`: where it runs (default: the test's own, the package root).
    init(_ executable: String, arguments: [String], environment: [String: String], servers: TestServers, workingDirectory: String? = nil) throws {
        name = executable
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(executable)-\(arguments.first ?? "")-\(UUID().uuidString.prefix(8)).log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)!
        process.executableURL = URL(fileURLWithPath: servers.binDirectory + "/" + executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TELEMETRY_") }
        merged["TELEMETRY_CONFIG"] = "/dev/null/none"
        merged.removeValue(forKey: "TELEMETRY_CONFIG")
        // Many tests publish fixed dates (January 2026) that the sensor types' 30-day window would
        // dead-letter as too old; the window has tests of its own that set it.
        merged["TELEMETRY_READING_MAX_AGE_DAYS"] = "36500"
        // TELEMETRY_TEST_COMPACT=1: the query services compact every closed hour every second, so the
        // end-to-end suites read what they stored from blocks (docs/testing.md).
        if ProcessInfo.processInfo.environment["TELEMETRY_TEST_COMPACT"] == "1" {
            merged["TELEMETRY_COMPACT_AFTER_MINUTES"] = "0"
            merged["TELEMETRY_COMPACT_INTERVAL_SECONDS"] = "1"
        }
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory, isDirectory: true) }
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to exit; returns its status, or nil at the deadline. In an async test this is
    /// the overload below, which does not hold a thread of the cooperative pool while it waits.
    @available(*, noasync, message: "await the async overload: a blocking wait holds one of the cooperative pool's threads")
    func waitForExit(timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Waits for the process to exit without blocking a thread: the parallel test run has as many
    /// cooperative threads as cores (two here), and tests blocking them in waits of minutes stalled every
    /// other test until their deadlines had passed.
    func waitForExit(timeout: Duration) async -> Int32? {
        _ = try? await within(timeout, poll: .milliseconds(20)) { !process.isRunning }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Stops it (SIGTERM, then SIGKILL after the grace time) and returns the exit status.
    @discardableResult
    func stop(grace: Duration = .seconds(15)) -> Int32? {
        defer { afterStop?() }
        guard process.isRunning else { return process.terminationStatus }
        signal(SIGTERM)
        if let status = waitForExit(timeout: grace) { return status }
        signal(SIGKILL)
        _ = waitForExit(timeout: .seconds(5))
        return nil
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }
}

/// How the end-to-end suites run the platform: `telemetry ingest` per test (the microservices, the
/// default) or `telemetry all` (the monolith: TELEMETRY_TEST_MODE=all, scripts/test.sh's second pass).
enum PlatformMode: String {
    case services, all

    static var current: PlatformMode {
        PlatformMode(rawValue: ProcessInfo.processInfo.environment["TELEMETRY_TEST_MODE"] ?? "services") ?? .services
    }
}

extension TestServers {
    /// Starts the ingest side of the platform for the given sensor types against `database`, with a
    /// journal of its own and its health port on a free port; `arguments` go after the `--sensor` ones
    /// (e.g. `--unrouted`). In the monolith mode this is `telemetry all` over the whole test catalog
    /// (its catch-all included), serving /readyz and /metrics on its HTTP port.
    func startIngest(
        sensors: [String], catalog: TestCatalog, database: String, journal: String? = nil, extra: [String: String] = [:], arguments: [String] = []
    ) throws -> ServiceProcess {
        var environment = [
            "TELEMETRY_MQTT_URL": mqttURL, "TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory,
            "TELEMETRY_JOURNAL_DIR": journal ?? FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID().uuidString.prefix(8))").path,
        ]
        let port = try freeLoopbackPort()
        for (key, value) in extra { environment[key] = value }
        switch PlatformMode.current {
        case .services:
            environment["TELEMETRY_METRICS_PORT"] = String(port)
            let process = try ServiceProcess(
                "telemetry", arguments: ["ingest"] + sensors.flatMap { ["--sensor", $0] } + arguments, environment: environment, servers: self)
            process.healthPort = port
            return process
        case .all:
            return try startMonolith(environment: environment, port: port)
        }
    }

    /// `telemetry all` (the whole platform in one process) with `environment`, serving on `port` (its
    /// `healthPort`). A catch-all of its own per test: on the shared broker it would otherwise take another
    /// test's session (and dead-letter that test's sensor types, which this catalog lacks); its session
    /// ends when the process is stopped.
    func startMonolith(environment: [String: String], port: Int) throws -> ServiceProcess {
        var environment = environment
        let instance = environment["TELEMETRY_INSTANCE"] ?? "all-\(UUID().uuidString.prefix(8).lowercased())"
        environment["TELEMETRY_INSTANCE"] = instance
        environment["TELEMETRY_JOURNAL_DIR"] = environment["TELEMETRY_JOURNAL_DIR"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(instance)").path
        let process = try ServiceProcess("telemetry", arguments: ["all", "--port", String(port)], environment: environment, servers: self)
        process.healthPort = port
        process.afterStop = { UnroutedTopicsTests.endSession(clientID: "ingest-unrouted-\(instance)", servers: self) }
        return process
    }
}

extension ServiceProcess {
    /// Polls the ingest process's /readyz (subscribed, database answering) until 200, or until it exits
    /// or the deadline passes.
    func waitUntilReady(timeout: Duration = .seconds(30)) async throws -> Bool {
        guard let healthPort else { return false }
        return try await eventually(timeout: timeout) {
            guard process.isRunning else { return true }
            return httpStatus("http://127.0.0.1:\(healthPort)/readyz") == 200
        } && process.isRunning
    }

    var metricsURL: String { "http://127.0.0.1:\(healthPort ?? 0)/metrics" }
}

