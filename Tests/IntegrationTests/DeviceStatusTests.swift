import Foundation
import Postgres
import StorageCore
import TestSupport
import Testing

/// Device status (docs/devices.md#device-status) on the monolith with a real broker and PostgreSQL: devices
/// that stop sending go `silent`, a reading brings them back `online`, what firmware says on its status
/// topic (Tasmota's LWT, our own `telemetry/status/<device>`) makes them `offline`, each change is a `state`
/// event on the device's live stream, the list filters by state, the overview and the metrics count them,
/// and a status payload that says neither word is a dead letter.
@Suite(.timeLimit(.minutes(3)))
struct DeviceStatusTests {
    @Test func devicesGoSilentComeBackAndSayTheyAreOffline() async throws {
        let servers = try TestServers.require()
        // Expected every 5 s, silent after 2 × 5 s: short enough for a test; long enough that a state lasts
        // while the test looks at it (scripts/test.sh runs this suite apart from the others: its checks are
        // on the wall clock).
        let catalog = try TestCatalog.make(from: ["temperature"], settings: ["expected_interval": "5s"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let port = try freeLoopbackPort()
        let instance = "status\(UUID().uuidString.prefix(6).lowercased())"
        let monolith = try servers.startMonolith(
            environment: [
                "TELEMETRY_MQTT_URL": servers.mqttURL, "TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory,
                "TELEMETRY_INSTANCE": instance, "TELEMETRY_DEVICE_SILENT_FACTOR": "2", "TELEMETRY_DEVICE_STATUS_SECONDS": "1",
            ],
            port: port)
        defer { _ = monolith.stop() }
        let api = "http://127.0.0.1:\(port)"
        #expect(try await within(.seconds(60)) { await httpGet("\(api)/readyz")?.status == 200 || !monolith.isRunning } && monolith.isRunning,
                "\(monolith.output.suffix(2000))")

        let a = "\(instance)-a", b = "\(instance)-b"
        let publisher = try TestPublisher(url: servers.mqtt)
        func reading(_ device: String) throws {
            try publisher.publish("telemetry/\(sensor)/\(device)/text", Array("21.5".utf8))
            try publisher.flush()
        }
        /// Nil until the device's first reading is stored (404 before).
        func state(_ device: String) async throws -> String? {
            guard let reply = await httpGet("\(api)/v1/sensors/\(sensor)/devices/\(device)"), reply.status == 200 else { return nil }
            return (try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["state"] as? String
        }
        func waitFor(_ device: String, _ expected: String, _ comment: Comment) async throws {
            var last: String?
            let reached = try await within(.seconds(30)) {
                last = try? await state(device)
                return last == expected
            }
            #expect(reached, "\(comment): \(device) is \(last ?? "unknown"), expected \(expected)\n\(monolith.output.suffix(1500))")
        }

        try reading(a)
        try reading(b)
        try await waitFor(a, "online", "a new device")
        try await waitFor(b, "online", "a new device")
        let stream = try StreamClient(port: port, path: "/v1/sensors/\(sensor)/devices/\(b)/stream")

        // Nothing more from either: both go silent, the stream of b says so.
        try await waitFor(a, "silent", "no reading for 10 s")
        try await waitFor(b, "silent", "no reading for 10 s")
        #expect(try await Blocking.run { stream.read(until: "event: state\ndata: {\"state\":\"silent\"", timeout: .seconds(10)) }, "\(stream.received)")
        let silent = try await httpJSON("\(api)/v1/sensors/\(sensor)/devices?state=silent", token: nil)["devices"] as? [[String: Any]]
        #expect(Set(silent?.compactMap { $0["device"] as? String } ?? []) == [a, b])

        // A reading brings a back; the filter and the overview follow.
        try reading(a)
        try await waitFor(a, "online", "a reading after silence")
        let online = try await httpJSON("\(api)/v1/sensors/\(sensor)/devices?state=online", token: nil)["devices"] as? [[String: Any]]
        #expect(online?.compactMap { $0["device"] as? String } == [a])
        let overview = try await httpJSON("\(api)/v1/overview", token: nil)
        let line = (overview["sensors"] as? [[String: Any]])?.first { $0["sensor"] as? String == sensor }
        let counts = line?["devices_by_state"] as? [String: Any]
        #expect(counts?["online"] as? Int == 1 && counts?["silent"] as? Int == 1 && counts?["offline"] as? Int == 0, "\(overview)")

        // Tasmota's last will says a is gone; our own status topic says b is (retained, as a will is).
        try publisher.publish("tele/\(a)/LWT", Array("Offline".utf8), retain: true)
        try publisher.publish("telemetry/status/\(b)", Array("offline".utf8), retain: true)
        try publisher.flush()
        try await waitFor(a, "offline", "Tasmota's LWT")
        try await waitFor(b, "offline", "telemetry/status")
        #expect(try await Blocking.run { stream.read(until: "{\"state\":\"offline\"", timeout: .seconds(10)) }, "\(stream.received)")
        // A reading after it said offline: it is back.
        try reading(a)
        try await waitFor(a, "online", "a reading after offline")

        // Neither word: a dead letter of this sensor type, and b's state is untouched.
        try publisher.publish("telemetry/status/\(b)", Array("maybe\u{0}".utf8))
        try publisher.flush()
        let connection = try PGConnection(url: database)
        let deadLettered = try await within(.seconds(30)) {
            try connection.query("SELECT count(*) FROM rejected WHERE sensor = $1 AND reason LIKE 'bad_status:%'", [sensor])[0, 0] == "1"
        }
        #expect(deadLettered)
        #expect(try await state(b) == "offline")
        let metrics = await httpGet("\(api)/metrics")?.text ?? ""
        #expect(metrics.contains("telemetry_devices{sensor=\"\(sensor)\",state=\"offline\"} 1"), "\(metrics.prefix(3000))")
        // A reading, then an online report after it: online since the report, not before what it left.
        let changes = try connection.query("""
            SELECT state, (extract(epoch FROM since) * 1000000)::int8 FROM device_state_changes WHERE device = $1 ORDER BY id
            """, [a]).rows.map { ($0[0]!, Int64($0[1]!)!) }
        #expect(zip(changes, changes.dropFirst()).allSatisfy { $0.1 <= $1.1 }, "a change dated before the one before it: \(changes)")
        // Below telemetry/status/<device> is no status topic: the catch-all dead-letters it, nothing is dropped.
        try publisher.publish("telemetry/status/\(b)/json", Array("offline".utf8))
        try publisher.flush()
        #expect(try await within(.seconds(30)) {
            try connection.query("SELECT count(*) FROM rejected WHERE topic = $1 AND reason LIKE 'bad_topic:%'", ["telemetry/status/\(b)/json"])[0, 0] == "1"
        })
        // Clean up the retained messages for later runs on this broker.
        try publisher.publish("tele/\(a)/LWT", [], retain: true)
        try publisher.publish("telemetry/status/\(b)", [], retain: true)
        try publisher.flush()
    }

    /// A device's own expected interval shorter than its sensor type's: the writers refresh its last_heard on
    /// the type's schedule until they learn it, so the pass allows for that; it never reads silent while sending.
    @Test func aDeviceWithAShortIntervalOfItsOwnStaysOnlineWhileItSends() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"], settings: ["expected_interval": "60s"])
        let sensor = catalog.sensor("temperature").name
        let port = try freeLoopbackPort()
        let monolith = try servers.startMonolith(
            environment: [
                "TELEMETRY_MQTT_URL": servers.mqttURL, "TELEMETRY_DATABASE_URL": try servers.makeDatabase(), "TELEMETRY_CATALOG": catalog.directory,
                "TELEMETRY_DEVICE_SILENT_FACTOR": "2", "TELEMETRY_DEVICE_STATUS_SECONDS": "1", "TELEMETRY_ADMIN_TOKENS": "admin-1", "TELEMETRY_API_TOKENS": "read-1",
            ],
            port: port)
        defer { _ = monolith.stop() }
        let api = "http://127.0.0.1:\(port)"
        #expect(try await within(.seconds(60)) { await httpGet("\(api)/readyz")?.status == 200 || !monolith.isRunning } && monolith.isRunning)
        let device = "own-\(UUID().uuidString.prefix(6).lowercased())"
        let publisher = try TestPublisher(url: servers.mqtt)
        try publisher.publish("telemetry/\(sensor)/\(device)/text", Array("20.5".utf8))
        try publisher.flush()
        let path = "/v1/sensors/\(sensor)/devices/\(device)"
        #expect(try await within(.seconds(30)) { await httpGet(api + path, authorization: "Bearer read-1")?.status == 200 })
        // Its own interval: 1 s, so silent after 2 s without a reading; it sends every 0.5 s for 8 s.
        #expect(await httpSend("PATCH", api + path, token: "admin-1", json: ["expected_interval": "1s"])?.status == 200)
        var states: [String] = []
        for _ in 0..<16 {
            try publisher.publish("telemetry/\(sensor)/\(device)/text", Array("20.5".utf8))
            try await Task.sleep(for: .milliseconds(500))
            states.append(try await httpJSON(api + path, token: "read-1")["state"] as? String ?? "?")
        }
        #expect(states.allSatisfy { $0 == "online" }, "\(states)")
    }
}
