import Foundation
import Postgres
import Testing

/// Messages near the broker's 1 MiB limit, bad and good, in every format: an ingest service's memory
/// stays near its queue bound (`queue_bytes`, 32 MiB) instead of keeping every large buffer it once held.
@Suite(.timeLimit(.minutes(5)))
struct LargePayloadMemoryTests {
    @Test func largeMessagesDoNotLeaveTheServiceHoldingMemory() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature", "humidity"])
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        let ingest = try servers.startIngest(sensors: catalog.catalog.sensors.map(\.name), catalog: catalog, database: database)
        defer { ingest.stop() }
        await #expect(try ingest.waitUntilReady())
        let publisher = try TestPublisher(url: servers.mqtt)
        let before = residentKiB(pid: ingest.process.processIdentifier) ?? 0
        var peak = before
        let big = Array(repeating: UInt8(ascii: "7"), count: 1_000_000)
        let json = Array("{\"celsius\": 21, \"pad\": \"".utf8) + Array(repeating: UInt8(ascii: "x"), count: 999_000) + Array("\"}".utf8)
        var sent = 0
        for round in 0..<4 {
            for sensor in catalog.catalog.sensors {
                for format in ["tm", "lpp", "senml-json", "senml-cbor", "json", "text"] {
                    for n in 0..<6 {
                        try publisher.publish("telemetry/\(sensor.name)/big-\(round)-\(n)/\(format)", format == "json" && n % 2 == 0 ? json : big)
                        sent += 1
                    }
                }
            }
            try publisher.flush()
            peak = max(peak, residentKiB(pid: ingest.process.processIdentifier) ?? 0)
        }
        // Every message handled: a good reading behind them is stored in each sensor type.
        for sensor in catalog.catalog.sensors {
            try publisher.publish("telemetry/\(sensor.name)/small/text", Array("20".utf8))
        }
        try publisher.flush()
        #expect(try await eventually(timeout: .seconds(120)) {
            catalog.catalog.sensors.allSatisfy { sensor in
                (try? connection.query("SELECT count(*) FROM \"\(sensor.name)\" r JOIN devices d ON d.id = r.device_id WHERE d.device = 'small'"))?[0, 0] == "1"
            }
        }, "\(ingest.output.suffix(1500))")
        let after = residentKiB(pid: ingest.process.processIdentifier) ?? 0
        print("verdict: \(sent) messages of ~1 MB through two sensor types: ingest RSS \(before / 1024) MiB before, \(peak / 1024) MiB peak while publishing, \(after / 1024) MiB after")
        // What the pipelines hold once idle: little beyond the process at rest (50 MiB). Before: 330 MiB.
        #expect(after < 120 * 1024, "ingest holds \(after / 1024) MiB after the large messages were handled")
    }
}
