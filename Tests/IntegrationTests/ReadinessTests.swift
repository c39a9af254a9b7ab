import Foundation
import MQTT
import Postgres
import Synchronization
import TestSupport
import Testing

/// `/readyz` says ready only when data can flow: a subscription the broker refuses is not "subscribed".
@Suite(.timeLimit(.minutes(3)))
struct ReadinessTests {
    @Test func aSubscriptionTheBrokerRefusesLeavesTheServiceNotReady() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        // A broker that refuses every subscription: mosquitto's dynamic security plugin with subscribe
        // denied by default answers SUBACK 0x80 (its acl_file never refuses a subscription).
        let plugin = try #require(
            ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"].map { "\($0)/mosquitto_dynamic_security.so" }
                .first { FileManager.default.fileExists(atPath: $0) }, "mosquitto_dynamic_security.so (Debian's mosquitto package)")
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("dynsec-\(UUID().uuidString.prefix(8)).json").path
        try #"""
            {"defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true, "subscribe": false, "unsubscribe": true},
             "clients": [], "roles": [], "groups": [{"groupname": "anonymous", "roles": [], "clients": []}], "anonymousGroup": "anonymous"}
            """#.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }
        let broker = try await PrivateBroker.make(extraConfig: ["allow_anonymous true", "plugin \(plugin)", "plugin_opt_config_file \(config)"])
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database, extra: ["TELEMETRY_MQTT_URL": broker.url])
        defer { ingest.stop() }
        // The service reports itself (every 5 s) connected and running: by then it has its SUBACK.
        #expect(try await eventually { ((try? connection.query("SELECT count(*) FROM ingest_status WHERE sensor = $1", [sensor]))?[0, 0] ?? "0") == "1" },
                "\(ingest.output.suffix(1500))")
        #expect(try connection.query("SELECT subscribed FROM ingest_status WHERE sensor = $1", [sensor])[0, 0] == "f")
        #expect(httpStatus("http://127.0.0.1:\(ingest.healthPort ?? 0)/readyz") == 503)
        #expect(httpStatus("http://127.0.0.1:\(ingest.healthPort ?? 0)/healthz") == 200)
    }
}

/// A PostgreSQL outage longer than the MQTT keepalive: the message callback blocks on the full queue,
/// the broker drops the silent client and, on its return, sends again what was in flight. What was
/// journaled already is recognised, not stored twice, even for payloads without a time of their own.
@Suite(.timeLimit(.minutes(3)))
struct KeepaliveOutageTests {
    @Test func redeliveriesAfterTheBrokerDroppedTheServiceAreNotStoredTwice() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature").name
        let postgres = try await PrivatePostgres.make()
        let broker = try await PrivateBroker.make(extraConfig: ["sys_interval 1"])
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: postgres.url, extra: [
            "TELEMETRY_MQTT_URL": broker.url, "TELEMETRY_MQTT_KEEPALIVE_SECONDS": "5", "TELEMETRY_QUEUE_MESSAGES": "2", "TELEMETRY_BATCH_MESSAGES": "1",
        ])
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        // The broker's count of persistent sessions whose client is away: the service's, once dropped.
        let away = Mutex<String?>(nil)
        let watcher = try MQTTClient(
            url: MQTTURL(parsing: broker.url), options: .init(clientID: "watch-\(UUID().uuidString.prefix(8))", subscriptions: ["$SYS/broker/clients/disconnected"]),
            onMessage: { message in away.withLock { $0 = String(decoding: message.payload, as: UTF8.self) } })
        try watcher.start()
        defer { watcher.stop() }
        try await postgres.stop()
        let publisher = try TestPublisher(url: MQTTURL(parsing: broker.url))
        let count = 30
        for n in 1...count { try publisher.publish("telemetry/\(sensor)/plain/text", Array("\(n).5".utf8)) }
        try publisher.flush()
        #expect(try await eventually(timeout: .seconds(60)) { away.withLock { $0 } == "1" }, "the broker never dropped the blocked service")
        try await postgres.start()
        let connection = try PGConnection(url: postgres.url)
        #expect(try await eventually(timeout: .seconds(60)) {
            (DeadLetterTests.counter("telemetry_ingest_queue_depth", at: ingest.metricsURL) ?? 1) == 0
                && (try? connection.query("SELECT count(*) FROM \"\(sensor)\""))?[0, 0] == "\(count)"
        }, "\(ingest.output.suffix(2000))")
        // Whatever else is still on its way: drained, then counted once more.
        #expect(try await eventually { away.withLock { $0 } == "0" })
        #expect(try await eventually { (DeadLetterTests.counter("telemetry_ingest_queue_depth", at: ingest.metricsURL) ?? 1) == 0 })
        #expect(try connection.query("SELECT count(*), count(DISTINCT celsius) FROM \"\(sensor)\"").rows.first == ["\(count)", "\(count)"])
        #expect((DeadLetterTests.counter("telemetry_ingest_redelivered_messages_skipped_total", at: ingest.metricsURL) ?? 0) > 0)
    }
}
