import Foundation
import TestSupport
import Postgres
import StorageCore
import Testing

/// A sensor type may have a PostgreSQL of its own (`sensor_database_urls`): its readings, rollups,
/// devices and dead letters go there and nowhere else, the emulator's verifier finds them there, and the
/// query service answers each request from its sensor type's database (dead letters from all of them).
@Suite(.timeLimit(.minutes(3)))
struct SensorDatabasesTests {
    @Test func aSensorTypeWithADatabaseOfItsOwnIsStoredAndServedFromIt() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature", "power"])
        let temperature = catalog.sensor("temperature").name, power = catalog.sensor("power").name
        let main = try servers.makeDatabase(), own = try servers.makeDatabase()
        let placement = ["TELEMETRY_SENSOR_DATABASE_URLS": "\(power)=\(own)"]
        let ingest = try servers.startIngest(sensors: [temperature, power], catalog: catalog, database: main, extra: placement)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady(), "\(ingest.output.suffix(2000))")

        let emulator = try EmulatorRun(servers: servers, database: main, catalog: catalog, sensors: [temperature, power],
                                       devices: 3, samples: 2, rate: 300, duration: 20, verifyTimeout: 60, extra: ["--count", "120"],
                                       environment: placement)
        #expect(try await Blocking.run { emulator.process.waitForExit(timeout: .seconds(90)) } == 0, "\(emulator.output.suffix(2000))")
        for sensor in [temperature, power] {
            let row = try #require(emulator.verifyRow(sensor), "\(emulator.output)")
            #expect(row[0] > 0 && row[1] == row[0] && row[2] == 0 && row[3] == 0, "\(sensor): \(row)")
        }
        // Each sensor type's rows are in its own database only.
        let mainDB = try PGConnection(url: main), ownDB = try PGConnection(url: own)
        func count(_ table: String, in connection: PGConnection) -> Int? {
            try? storedReadings(table, on: connection)
        }
        #expect(count(power, in: ownDB) == emulator.verifyRow(power)?[1])
        #expect(count(temperature, in: mainDB) == emulator.verifyRow(temperature)?[1])
        #expect(try mainDB.query("SELECT to_regclass($1) IS NULL", ["\"\(power)\""])[0, 0] == "t", "no power tables in the main database")
        #expect(try ownDB.query("SELECT to_regclass($1) IS NULL", ["\"\(temperature)\""])[0, 0] == "t")

        // A bad message of each sensor type: each dead letter in its sensor type's database.
        let publisher = try TestPublisher(url: servers.mqtt)
        try publisher.publish("telemetry/\(temperature)/bad-t", [0x54])
        try publisher.publish("telemetry/\(power)/bad-p", [0x54])
        try publisher.flush()
        #expect(try await Blocking.run {
            try blockingEventually {
                (try? mainDB.query("SELECT topic FROM rejected"))?.rows.map { $0[0] } == ["telemetry/\(temperature)/bad-t"]
                    && (try? ownDB.query("SELECT topic FROM rejected"))?.rows.map { $0[0] } == ["telemetry/\(power)/bad-p"]
            }
        })

        // The query service routes by sensor type, and lists dead letters from both databases, paged.
        let port = try freeLoopbackPort()
        let query = try ServiceProcess(
            "telemetry", arguments: ["query", "--port", String(port)],
            environment: ["TELEMETRY_DATABASE_URL": main, "TELEMETRY_CATALOG": catalog.directory].merging(placement) { $1 }, servers: servers)
        defer { query.stop() }
        #expect(try await Blocking.run { try blockingEventually { httpStatus("http://127.0.0.1:\(port)/readyz") == 200 || !query.isRunning } })
        func get(_ path: String) async throws -> [String: Any] {
            let reply = try #require(await httpGet("http://127.0.0.1:\(port)\(path)"), "no answer to \(path)")
            return try #require(try JSONSerialization.jsonObject(with: reply.body) as? [String: Any], "\(reply.text)")
        }
        for sensor in [temperature, power] {
            let devices = try await get("/v1/sensors/\(sensor)/devices")["devices"] as? [[String: Any]]
            #expect(devices?.count == 3, "\(sensor)")
            let aggregates = try await get("/v1/sensors/\(sensor)/aggregates?bucket=1d&fn=count&from=0&to=4102444800000")
            let points = (aggregates["series"] as? [[String: Any]])?.flatMap { ($0["points"] as? [[String: Any]]) ?? [] } ?? []
            let counted = points.compactMap { $0["count"] as? Int }.reduce(0, +)
            #expect(counted > 0, "\(sensor): \(aggregates)")
        }
        let ownLetters = try await get("/v1/rejected?sensor=\(power)&from=0&to=4102444800000")["rejected"] as? [[String: Any]]
        #expect(ownLetters?.map { $0["topic"] as? String } == ["telemetry/\(power)/bad-p"])
        // One a page, so the cursor crosses from one database to the other, oldest first and newest first.
        func pagedTopics(order: String) async throws -> [String] {
            var topics: [String] = []
            var cursor: String?
            repeat {
                let page = try await get("/v1/rejected?from=0&to=4102444800000&limit=1&order=\(order)" + (cursor.map { "&cursor=\($0)" } ?? ""))
                topics += (page["rejected"] as? [[String: Any]] ?? []).compactMap { $0["topic"] as? String }
                cursor = page["next"] as? String
            } while cursor != nil && topics.count < 10
            return topics
        }
        let oldestFirst = try await pagedTopics(order: "asc")
        #expect(Set(oldestFirst) == ["telemetry/\(temperature)/bad-t", "telemetry/\(power)/bad-p"] && oldestFirst.count == 2, "\(oldestFirst)")
        #expect(try await pagedTopics(order: "desc") == oldestFirst.reversed())
    }
}
