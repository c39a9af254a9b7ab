import Foundation
import Postgres
import SensorModel
import StorageCore
import StorageWriter
import TestSupport
import Testing

/// CSV export (docs/rest-api.md#csv): a range of raw readings streamed page by page (more rows than one
/// page of the store holds), with a header, empty cells for values a reading does not carry, by
/// `format=csv` or `Accept: text/csv`; aggregates the same way; a bad format is a 400.
@Suite(.timeLimit(.minutes(4)))
struct CSVExportTests {
    @Test func readingsAndAggregatesComeAsCSV() async throws {
        let setup = try Deployment.make()
        let connection = try PGConnection(url: setup.database)
        try Schema.migrate(connection, catalog: setup.catalog.catalog)
        // 25,000 readings, one a second from midnight UTC two days ago (inside the catalog's retention):
        // three pages of the export.
        let day = (Int64(Date().timeIntervalSince1970) / 86_400 - 2) * 86_400
        let start = day * 1_000_000, count = 25_000
        let date = String(TimeText.format(start).prefix(10))
        var batch = IngestBatch(fieldCount: 1)
        for i in 0..<count {
            let row = batch.readings.appendRow(time: start + Int64(i) * 1_000_000, seq: Int64(i))
            if i != 7 { batch.readings.set(field: 0, row: row, Double(i) / 10) }  // row 7 carries no value
        }
        batch.closeSpan(device: "csv-1", from: 0)
        _ = try BatchWriter(connection: connection, sensor: setup.sensor).write(batch)
        try compactClosedHoursIfAsked(database: setup.database, sensors: [setup.sensor])
        let query = try await setup.startReady(setup.environment())
        defer { query.stop() }
        let path = "/v1/sensors/\(setup.sensor.name)/devices/csv-1/readings?from=\(date)T00:00:00Z&to=\(date)T23:59:59Z"

        let reply = try #require(await query.get(path + "&format=csv", timeout: 30))
        #expect(reply.status == 200)
        let lines = reply.text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        try #require(lines.count == count + 1, "\(lines.count) lines")
        #expect(lines[0] == "time,seq,celsius" && lines[1] == "\(date)T00:00:00.000000Z,0,0" && lines[8] == "\(date)T00:00:07.000000Z,7,")
        #expect(lines.last == "\(date)T06:56:39.000000Z,24999,2499.9")

        let newest = try #require(await query.get(path + "&format=csv&order=desc&limit=2"))
        #expect(newest.text == "time,seq,celsius\r\n\(date)T06:56:39.000000Z,24999,2499.9\r\n\(date)T06:56:38.000000Z,24998,2499.8\r\n", "\(newest.text)")

        let aggregates = try #require(await httpGet(
            "http://127.0.0.1:\(query.port)/v1/sensors/\(setup.sensor.name)/aggregates?from=\(date)T00:00:00Z&to=\(date)T02:00:00Z&bucket=1h&fn=count,max",
            accept: "text/csv"))
        #expect(aggregates.status == 200)
        #expect(aggregates.text == "device,field,time,count,max\r\n,celsius,\(date)T00:00:00.000000Z,3599,359.9\r\n,celsius,\(date)T01:00:00.000000Z,3600,719.9\r\n",
                "\(aggregates.text)")
        #expect(await query.get(path + "&format=xml")?.status == 400)
    }
}
