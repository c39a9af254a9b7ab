import Foundation
import SensorModel
import TestSupport
import StorageCore
import Testing

/// The dashboard in Chromium (Tests/Browser/dashboard_test.py, Selenium) against the real platform: one
/// `telemetry ingest` for the six sensor types, `telemetry query` with a token, data from the emulator.
/// scripts/test.sh installs chromium, chromium-driver and Selenium (in a venv) and names the Python.
@Suite(.timeLimit(.minutes(6)))
struct DashboardBrowserTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test func theDashboardShowsWhatTheAPISaysAndUpdatesLive() async throws {
        let servers = try TestServers.require()
        guard let python = ProcessInfo.processInfo.environment["TELEMETRY_TEST_PYTHON"] else {
            throw TestSetupError(message: "browser tests need TELEMETRY_TEST_PYTHON (a Python with Selenium): run them with scripts/test.sh")
        }
        let catalog = try TestCatalog.make(from: ["temperature", "humidity", "pressure", "accelerometer", "location", "power"])
        let names = catalog.catalog.sensors.map(\.name)
        let database = try servers.makeDatabase()
        let ingest = try servers.startIngest(sensors: names, catalog: catalog, database: database)
        defer { ingest.stop() }
        #expect(try await Blocking.run { try ingest.waitUntilReady() }, "ingest not ready: \(ingest.output.suffix(2000))")

        let token = "browser-" + UUID().uuidString.prefix(8)
        let port = try freeLoopbackPort()
        let query = try ServiceProcess("telemetry", arguments: ["query"], environment: [
            "TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory, "TELEMETRY_HTTP_HOST": "127.0.0.1",
            "TELEMETRY_HTTP_PORT": String(port), "TELEMETRY_API_TOKENS": token,
        ], servers: servers)
        defer { query.stop() }
        let ready = try await Blocking.run { try eventually { !query.isRunning || httpStatus("http://127.0.0.1:\(port)/readyz") == 200 } && query.isRunning }
        try #require(ready, "query not ready: \(query.output.suffix(2000))")

        let emulator = try EmulatorRun(servers: servers, database: database, catalog: catalog, sensors: names, devices: 6, rate: 60, duration: 3)
        #expect(try await Blocking.run { emulator.process.waitForExit(timeout: .seconds(120)) } == 0, "emulator: \(emulator.output.suffix(2000))")

        let mqtt = try servers.mqtt
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: python)
        browser.arguments = [Self.root + "/Tests/Browser/dashboard_test.py"]
        var environment = ProcessInfo.processInfo.environment
        environment.merge([
            "DASHBOARD_URL": "http://127.0.0.1:\(port)", "DASHBOARD_TOKEN": token, "MQTT_HOST": mqtt.host, "MQTT_PORT": String(mqtt.port),
            "SENSORS": names.joined(separator: ","), "LIVE_SENSOR": catalog.sensor("temperature").name,
            "SCREENSHOTS": Self.root + "/.local/screenshots", "DOWNLOADS": try makeTemporaryDirectory(),
        ]) { $1 }
        browser.environment = environment
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("browser-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        browser.standardOutput = handle
        browser.standardError = handle
        browser.standardInput = FileHandle.nullDevice
        try browser.run()
        // However the run ends, nothing of it stays: the script makes a process group of its own (its pid),
        // which chromedriver and Chromium join; whatever of it is left when the script is gone is killed.
        defer { kill(-browser.processIdentifier, SIGKILL) }
        func exited(within seconds: Int) async throws -> Bool {
            try await Blocking.run {
                let deadline = ContinuousClock.now + .seconds(seconds)
                while browser.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
                return !browser.isRunning
            }
        }
        let finished = try await exited(within: 240)
        if !finished {
            browser.terminate()  // SIGTERM: the script quits the browser on its way out
            if try await !exited(within: 15) { kill(-browser.processIdentifier, SIGKILL) }
        }
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        print(output)
        #expect(finished && browser.terminationStatus == 0, "browser checks failed:\n\(output.suffix(4000))\nquery log:\n\(query.output.suffix(1500))")
    }
}
