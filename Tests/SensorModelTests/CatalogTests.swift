import Foundation
import Testing
@testable import SensorModel

/// The repository's config/sensors folder, found from this file's path.
let repositoryCatalog = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("config/sensors").path

@Suite struct CatalogTests {
    @Test func defaultCatalogLoads() throws {
        let catalog = try Catalog.load(directory: repositoryCatalog)
        #expect(catalog.sensors.map(\.name) == ["accelerometer", "humidity", "location", "power", "pressure", "temperature"])
        let temperature = try #require(catalog["temperature"])
        #expect(temperature.fields.map(\.name) == ["celsius"])
        #expect(temperature.fields[0].unit == "Cel")
        #expect(temperature.fields[0].min == -90 && temperature.fields[0].max == 150)
        #expect(catalog["power"]?.fields.map(\.name) == ["voltage", "current", "power", "energy"])
        #expect(catalog["location"]?.fields.map(\.unit) == ["lat", "lon", "m"])
        #expect(temperature.retention.raw == .seconds(30 * 86_400))
    }

    @Test(arguments: [
        (#"{"name": "Bad-Name", "fields": [{"name": "a", "unit": "V", "min": 0, "max": 1}]}"#, "name"),
        (#"{"name": "ok", "fields": []}"#, "fields"),
        (#"{"name": "ok", "fields": [{"name": "a", "unit": "V", "min": 2, "max": 1}]}"#, "fields[0].min"),
        (#"{"name": "ok", "fields": [{"name": "a", "unit": "V", "min": 0, "max": 1, "colour": 1}]}"#, "fields[0].colour"),
        (#"{"name": "ok", "fields": [{"name": "time", "unit": "V", "min": 0, "max": 1}]}"#, "fields[0].name"),
        (#"{"name": "ok", "fields": [{"name": "a", "unit": "V", "min": 0, "max": 1}, {"name": "a", "unit": "V", "min": 0, "max": 1}]}"#, "fields[1].name"),
        (#"{"name": "ok", "format": "xml", "fields": [{"name": "a", "unit": "V", "min": 0, "max": 1}]}"#, "format"),
        (#"{"name": "ok", "retention": {"raw": "forever"}, "fields": [{"name": "a", "unit": "V", "min": 0, "max": 1}]}"#, "retention.raw"),
        (#"{"name": "ok", "fields": [{"name": "a", "unit": "V", "min": 0, "max": "one"}]}"#, "fields[0].max"),
    ])
    func badFileNamesFileAndField(json: String, field: String) throws {
        let (file, error) = try loadingFails(json)
        #expect(error?.field == field)
        #expect(error?.description.contains(file) == true)
    }

    @Test func topicsParseStrictly() throws {
        #expect(try Topic.parse("telemetry/temperature/dev-1").get() == Topic(sensor: "temperature", device: "dev-1"))
        #expect(try Topic.parse("telemetry/power/m.2_x/lpp").get() == Topic(sensor: "power", device: "m.2_x", format: .lpp))
        #expect(try Topic.parse("telemetry/power/.../lpp").get() == Topic(sensor: "power", device: "...", format: .lpp))
        for bad in ["telemetry/temperature", "telemetry/t/d/tm/extra", "other/t/d", "telemetry/t/d e", "telemetry/t/d/xml",
                    "telemetry/t/" + String(repeating: "a", count: 65), "telemetry/t/",
                    // No URL can address a device named . or ..: a client resolves them away.
                    "telemetry/t/.", "telemetry/t/..", "telemetry/t/../tm"] {
            #expect((try? Topic.parse(bad).get()) == nil, "\(bad)")
        }
    }

    @Test func batchTruncatesBack() {
        var batch = ReadingBatch(fieldCount: 2)
        let row = batch.appendRow(time: 1, seq: 3)
        batch.set(field: 1, row: row, 4.5)
        #expect(batch.value(field: 0, row: row) == nil)
        #expect(batch.value(field: 1, row: row) == 4.5)
        _ = batch.appendRow(time: 2, seq: 3)
        batch.truncate(to: 1)
        #expect(batch.count == 1 && batch.values[1].count == 1)
    }
}
