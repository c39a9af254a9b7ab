import Foundation
import MQTT
import SensorModel
import TestSupport
import StorageCore
import Testing

/// The dashboard in Chromium (Tests/Browser/dashboard_test.py, Selenium) against the real platform: one
/// `telemetry ingest` for the six sensor types, `telemetry query` with a read and an admin token, data from
/// the emulator, and an alert rule with an open and a cleared episode.
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
        #expect(try await ingest.waitUntilReady(), "ingest not ready: \(ingest.output.suffix(2000))")

        let token = "browser-" + UUID().uuidString.prefix(8), admin = "browser-admin-" + UUID().uuidString.prefix(8)
        let port = try freeLoopbackPort()
        let query = try ServiceProcess("telemetry", arguments: ["query"], environment: [
            "TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory, "TELEMETRY_HTTP_HOST": "127.0.0.1",
            "TELEMETRY_HTTP_PORT": String(port), "TELEMETRY_API_TOKENS": token,
            "TELEMETRY_ADMIN_TOKENS": admin,
        ], servers: servers)
        defer { query.stop() }
        let ready = try await Blocking.run { try blockingEventually { !query.isRunning || httpStatus("http://127.0.0.1:\(port)/readyz") == 200 } && query.isRunning }
        try #require(ready, "query not ready: \(query.output.suffix(2000))")

        let emulator = try EmulatorRun(servers: servers, database: database, catalog: catalog, sensors: names, devices: 6, rate: 60, duration: 3)
        #expect(try await Blocking.run { emulator.process.waitForExit(timeout: .seconds(120)) } == 0, "emulator: \(emulator.output.suffix(2000))")

        let api = "http://127.0.0.1:\(port)"
        let alerts = try await raiseAlerts(api: api, admin: admin, reader: token, sensor: catalog.sensor("temperature").name, mqtt: servers.mqtt)

        let mqtt = try servers.mqtt
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: python)
        browser.arguments = [Self.root + "/Tests/Browser/dashboard_test.py"]
        var environment = ProcessInfo.processInfo.environment
        environment.merge([
            "DASHBOARD_URL": "http://127.0.0.1:\(port)", "DASHBOARD_TOKEN": token, "MQTT_HOST": mqtt.host, "MQTT_PORT": String(mqtt.port),
            "SENSORS": names.joined(separator: ","), "LIVE_SENSOR": catalog.sensor("temperature").name,
            "SCREENSHOTS": Self.root + "/.local/screenshots", "DOWNLOADS": try makeTemporaryDirectory(),
            "DASHBOARD_ADMIN_TOKEN": admin, "ALERT_RULE": alerts.rule, "ALERT_OPEN": alerts.open, "ALERT_CLEARED": alerts.cleared,
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

    /// A rule made over REST with the admin token (above 30 °C at once, devices `x-alert-*`: after the
    /// emulator's in id order, so the checks that take a sensor type's first device still take one of
    /// those) and readings of two devices of this test's own: one stays hot (an open episode), one cools
    /// below the clear level (a cleared one). Returns the rule's name and the two episodes' ids, once the
    /// API lists both.
    func raiseAlerts(api: String, admin: String, reader: String, sensor: String, mqtt: MQTTURL) async throws -> (rule: String, open: String, cleared: String) {
        let suffix = UUID().uuidString.prefix(6).lowercased()
        let name = "browser too hot \(suffix)", hot = "x-alert-hot-\(suffix)", cooled = "x-alert-cooled-\(suffix)"
        let rule: [String: Any] = [
            "name": name, "sensor": sensor, "condition": "above", "field": "celsius", "threshold": 30, "clear": 28, "for": "0s",
            "device_prefix": "x-alert-",
        ]
        let created = try #require(await httpSend("POST", "\(api)/v1/alert-rules", token: admin, json: rule), "no answer to POST /v1/alert-rules")
        try #require(created.status == 201, "POST /v1/alert-rules: \(created.status) \(created.text)")
        let publisher = try TestPublisher(url: mqtt)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (offset, device, value) in [(0, hot, 35.5), (0, cooled, 33.0), (1000, cooled, 25.0)] {
            try publisher.publish("telemetry/\(sensor)/\(device)/json", Array("{\"ts\": \(now - 10_000 + Int64(offset)), \"values\": {\"temperature\": \(value)}}".utf8))
        }
        try publisher.flush()
        var ids: (open: String, cleared: String)?
        let raised = try await within(.seconds(30)) {
            let listed = try await httpJSON("\(api)/v1/alerts?state=all&sensor=\(sensor)", token: reader)["alerts"] as? [[String: Any]] ?? []
            func episode(_ device: String, _ state: String) -> String? {
                listed.first { $0["device"] as? String == device && $0["state"] as? String == state }?["id"] as? String
            }
            guard let open = episode(hot, "open"), let cleared = episode(cooled, "cleared") else { return false }
            ids = (open, cleared)
            return true
        }
        let found = try #require(raised ? ids : nil, "no open episode for \(hot) and cleared one for \(cooled) within 30 s")
        return (name, found.open, found.cleared)
    }
}
