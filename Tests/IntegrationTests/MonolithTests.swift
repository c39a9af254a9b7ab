import Foundation
import TestSupport
import Postgres
import StorageCore
import Testing

/// `telemetry all` runs the whole platform in one process: every sensor type's pipeline, the catch-all
/// and the query service. The emulator's mixed load of all six sensor types is stored exactly once and
/// read back over the monolith's REST port; an unknown sensor type's topic is dead-lettered by its catch-all.
@Suite(.timeLimit(.minutes(3)))
struct MonolithTests {
    @Test func theMonolithStoresAndServesEverySensorType() async throws {
        let servers = try TestServers.require()
        let names = ["temperature", "humidity", "pressure", "accelerometer", "location", "power"]
        let catalog = try TestCatalog.make(from: names)
        let database = try servers.makeDatabase()
        let port = try freeLoopbackPort()
        let monolith = try servers.startMonolith(
            environment: ["TELEMETRY_MQTT_URL": servers.mqttURL, "TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory],
            port: port)
        defer { _ = monolith.stop() }
        let ready = try await Blocking.run {
            try blockingEventually(timeout: .seconds(60)) { httpStatus("http://127.0.0.1:\(port)/readyz") == 200 || !monolith.isRunning }
        }
        #expect(ready && monolith.isRunning, "\(monolith.output.suffix(2000))")

        let sensors = catalog.catalog.sensors.map(\.name)
        let emulator = try EmulatorRun(servers: servers, database: database, catalog: catalog, sensors: sensors,
                                       devices: 3, samples: 2, rate: 300, duration: 20, verifyTimeout: 60, extra: ["--count", "180"])
        let status = try await Blocking.run { emulator.process.waitForExit(timeout: .seconds(120)) }
        #expect(status == 0, "\(emulator.output.suffix(2000))\nmonolith:\n\(monolith.output.suffix(2000))")
        for sensor in sensors {
            let row = try #require(emulator.verifyRow(sensor), "\(emulator.output)")
            #expect(row[0] > 0 && row[1] == row[0] && row[2] == 0 && row[3] == 0, "\(sensor): \(row)")
            let reply = try #require(await httpGet("http://127.0.0.1:\(port)/v1/sensors/\(sensor)/devices"), "no answer")
            #expect(reply.status == 200)
            let devices = (try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["devices"] as? [[String: Any]]
            #expect(devices?.count == 3, "\(sensor): \(reply.text)")
        }

        // A sensor type the catalog does not have: the monolith's catch-all dead-letters it.
        let publisher = try TestPublisher(url: servers.mqtt)
        let topic = "telemetry/nosuch\(UUID().uuidString.prefix(6).lowercased())/dev-1"
        try publisher.publish(topic, [1, 2, 3])
        try publisher.flush()
        let connection = try PGConnection(url: database)
        let deadLettered = try await Blocking.run {
            try blockingEventually { (try? connection.query("SELECT reason FROM rejected WHERE topic = $1", [topic]))?.rows.count == 1 }
        }
        #expect(deadLettered, "\(monolith.output.suffix(2000))")
        // /metrics carries the ingest pipelines' counters as well as the query service's.
        let metrics = try #require(await httpGet("http://127.0.0.1:\(port)/metrics"), "no answer from /metrics").text
        #expect(metrics.contains("telemetry_ingest_committed_readings_total{sensor=\"\(sensors[0])\"}"), "\(metrics.prefix(3000))")
        #expect(monolith.stop() == 0, "\(monolith.output.suffix(2000))")
    }
}
