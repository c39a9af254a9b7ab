import Foundation
import Postgres
import Testing

/// `/readyz` says ready only when data can flow: a subscription the broker refuses is not "subscribed".
@Suite(.timeLimit(.minutes(3)))
struct ReadinessTests {
    @Test func aSubscriptionTheBrokerRefusesLeavesTheServiceNotReady() throws {
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
        let broker = try PrivateBroker(extraConfig: ["allow_anonymous true", "plugin \(plugin)", "plugin_opt_config_file \(config)"])
        let ingest = try servers.startIngest(sensors: [sensor], catalog: catalog, database: database, extra: ["TELEMETRY_MQTT_URL": broker.url])
        defer { ingest.stop() }
        // The service reports itself (every 5 s) connected and running: by then it has its SUBACK.
        #expect(try eventually { ((try? connection.query("SELECT count(*) FROM ingest_status WHERE sensor = $1", [sensor]))?[0, 0] ?? "0") == "1" },
                "\(ingest.output.suffix(1500))")
        #expect(try connection.query("SELECT subscribed FROM ingest_status WHERE sensor = $1", [sensor])[0, 0] == "f")
        #expect(httpStatus("http://127.0.0.1:\(ingest.healthPort ?? 0)/readyz") == 503)
        #expect(httpStatus("http://127.0.0.1:\(ingest.healthPort ?? 0)/healthz") == 200)
    }
}
