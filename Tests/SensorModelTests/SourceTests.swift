import Foundation
import Testing
@testable import SensorModel

/// Catalog sources: checked at load (each failure names the file, the key and why), and matched strictly.
@Suite struct SourceTests {
    static let field = #"{"name": "celsius", "unit": "Cel", "min": -90, "max": 150}"#

    static func file(sources: String, fields: String = SourceTests.field) -> String {
        #"{"name": "temperature", "fields": [\#(fields)], "sources": \#(sources)}"#
    }

    @Test(arguments: [
        (file(sources: #"[{"topic": "tele/SENSOR", "format": "json"}]"#), "sources[0].topic", "no {device}"),
        (file(sources: #"[{"topic": "tele/{device}/{device}", "format": "json"}]"#), "sources[0].topic", "more than once"),
        (file(sources: #"[{"topic": "tele/+/{device}", "format": "json"}]"#), "sources[0].topic", "may not hold"),
        (file(sources: #"[{"topic": "tele/{device}/#", "format": "json"}]"#), "sources[0].topic", "may not hold"),
        (file(sources: #"[{"topic": "tele//{device}", "format": "json"}]"#), "sources[0].topic", "empty level"),
        (file(sources: #"[{"topic": "telemetry/{device}/x", "format": "json"}]"#), "sources[0].topic", "telemetry/"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "xml"}]"#), "sources[0].format", "must be one of"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "json", "fields": {"celsus": ["a"]}}]"#), "sources[0].fields.celsus", "no field 'celsus'"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "json", "fields": {"celsius": ["a..b"]}}]"#), "sources[0].fields.celsius[0]", "not a key path"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "json", "fields": {"celsius": "a.b"}}]"#), "sources[0].fields.celsius", "array of strings"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "json", "time": "a.\"b"}]"#), "sources[0].time", "not a key path"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "text", "field": "kelvin"}]"#), "sources[0].field", "no field 'kelvin'"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "tm", "fields": {"celsius": ["a"]}}]"#), "sources[0].fields", "for the json format"),
        (file(sources: #"[{"topic": "tele/{device}", "format": "json", "colour": 1}]"#), "sources[0].colour", "unknown key"),
        (file(sources: #"[{"topic": "tele/{device}/SENSOR", "format": "json"}, {"topic": "tele/x/{device}", "format": "json"}]"#),
         "sources[1].topic", "twice"),
        (file(sources: #"[{"topic": "{device}/events/rpc", "format": "json"}, {"topic": "{device}/events/rpc", "format": "text"}]"#),
         "sources[1].topic", "twice"),
        (file(sources: #"[{"topic": "tele/{device}/LWT", "format": "text"}]"#), "sources[0].topic", "status topic"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "lpp", "envelope": "loriot"}]"#), "sources[0].envelope", "must be one of"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "lpp", "envelope": "ttn", "device": "eui"}]"#), "sources[0].device", "must be one of"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "lpp", "device": "name"}]"#), "sources[0].device", "with an envelope"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "lpp", "uplink": {"celsius": "rssi"}}]"#), "sources[0].uplink", "with an envelope"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "lpp", "envelope": "chirpstack", "uplink": {"rssi": "rssi"}}]"#), "sources[0].uplink.rssi", "no field 'rssi'"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "lpp", "envelope": "chirpstack", "uplink": {"celsius": "loudness"}}]"#), "sources[0].uplink.celsius", "must be one of"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "json", "envelope": "chirpstack", "uplink": {"celsius": "snr"}, "fields": {"celsius": ["t"]}}]"#),
         "sources[0].uplink.celsius", "not both"),
        (file(sources: #"[{"topic": "a/{device}/up", "format": "lpp", "envelope": "chirpstack", "uplink": {"celsius": "rssi"}}]"#,
              fields: #"{"name": "celsius", "unit": "Cel", "min": -90, "max": 150, "lpp": {"type": 103}}"#), "sources[0].uplink.celsius", "lpp binding"),
        (file(sources: #"[{"topic": "spBv1.0/a/b", "format": "sparkplug"}]"#), "sources[0].topic", "spBv1.0/<group id>"),
        (file(sources: #"[{"topic": "spBv1.0/+", "format": "sparkplug"}]"#), "sources[0].topic", "spBv1.0/<group id>"),
        (file(sources: #"[{"topic": "spBv1.0/plant", "format": "sparkplug", "time": "ts"}]"#), "sources[0]", "fields (field -> metric names)"),
        (file(sources: #"[{"topic": "spBv1.0/plant", "format": "sparkplug", "fields": {"kelvin": ["K"]}}]"#), "sources[0].fields.kelvin", "no field"),
        (file(sources: #"[{"topic": "spBv1.0/plant", "format": "sparkplug"}, {"topic": "spBv1.0/plant/NDATA/{device}", "format": "json"}]"#),
         "sources[1].topic", "twice"),
        (file(sources: "[]", fields: #"{"name": "celsius", "unit": "Cel", "min": -90, "max": 150, "aliases": ["a."]}"#), "fields[0].aliases[0]", "not a key path"),
        (file(sources: "[]", fields: #"{"name": "celsius", "unit": "Cel", "min": -90, "max": 150, "strings": "yes"}"#), "fields[0].strings", "true or false"),
    ])
    func badSourceStopsLoadingNamingFileKeyAndReason(json: String, field: String, reason: String) throws {
        let (file, error) = try loadingFails(json)
        #expect(error?.field == field, "\(String(describing: error))")
        #expect(error?.description.contains(file) == true)
        #expect(error?.message.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func defaultCatalogTakesTheThreeFirmwares() throws {
        let catalog = try Catalog.load(directory: repositoryCatalog)
        let temperature = try #require(catalog["temperature"])
        #expect(temperature.sources.map(\.topic) == ["tele/{device}/SENSOR", "{device}/events/rpc", "{device}/sensor/temperature/state"])
        #expect(temperature.sources.map(\.format) == [.json, .json, .text])
        #expect(temperature.sources[1].fields["celsius"] == [#"params."temperature:0".tC"#])
        #expect(catalog["humidity"]?.sources.map(\.topic) == ["tele/{device}/SENSOR", "{device}/events/rpc"])
        #expect(catalog["pressure"]?.sources.map(\.topic) == ["tele/{device}/SENSOR"])
        #expect(temperature.fields[0].aliases == ["temperature", "Temperature"])
    }

    /// The broker lets a device write each pattern with its own id in the `{device}` level: two sensor types'
    /// patterns that match one topic must take the id from the same level, or one device could write as another.
    @Test func sensorTypesSharingATopicTakeTheDeviceFromTheSameLevel() throws {
        func sensor(_ name: String, _ topic: String) -> SensorType {
            SensorType(name: name, fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)], sources: [Source(topic: topic, format: .json)])
        }
        #expect(throws: Never.self) { try Catalog(sensors: [sensor("a", "tele/{device}/SENSOR"), sensor("b", "tele/{device}/SENSOR")]) }
        #expect(throws: Never.self) { try Catalog(sensors: [sensor("a", "tele/{device}/SENSOR"), sensor("b", "{device}/events/rpc")]) }
        #expect {
            try Catalog(sensors: [sensor("a", "{device}/x/SENSOR"), sensor("b", "tele/{device}/SENSOR")])
        } throws: { error in
            let error = error as? CatalogError
            return error?.file == "b" && error?.field == "sources[0].topic" && error?.message.contains("a device could publish as another") == true
        }
    }

    /// A topic read as a network server's uplink in one sensor type may not be a device's own topic in
    /// another: the broker's rights are per topic, so the device could write the uplinks too (found by
    /// the adversary run of 2026-12-07).
    @Test func sensorTypesSharingATopicReadItTheSameWay() throws {
        let uplink = Source(topic: "application/app-1/device/{device}/event/up", format: .lpp, envelope: .chirpstack)
        func sensor(_ name: String, _ source: Source) -> SensorType {
            SensorType(name: name, fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150, lpp: LPPBinding(type: 103))], sources: [source])
        }
        #expect(throws: Never.self) { try Catalog(sensors: [sensor("a", uplink), sensor("b", uplink)]) }
        for other in [Source(topic: uplink.topic, format: .json), Source(topic: uplink.topic, format: .lpp, envelope: .ttn),
                      Source(topic: "application/app-1/device/{device}/#".replacingOccurrences(of: "/#", with: "/event/up"), format: .text)] {
            #expect {
                try Catalog(sensors: [sensor("a", uplink), sensor("b", other)])
            } throws: { error in
                (error as? CatalogError)?.message.contains("read it the same way") == true
            }
        }
        #expect(throws: CatalogError.self) {
            try Catalog(sensors: [sensor("a", Source(topic: "spBv1.0/plant", format: .sparkplug)), sensor("b", Source(topic: "spBv1.0/plant/NDATA/{device}", format: .json))])
        }
    }

    @Test func keyPathsSplitAtDotsOutsideQuotes() {
        #expect(KeyPath.parse("AM2301.Temperature") == ["AM2301", "Temperature"])
        #expect(KeyPath.parse(#"params."temperature:0".tC"#) == ["params", "temperature:0", "tC"])
        #expect(KeyPath.parse(#""a.b""#) == ["a.b"])
        #expect(KeyPath.parse("celsius") == ["celsius"])
        for bad in ["", ".", "a.", ".a", "a..b", #""a"b"#, #"a"b""#, #""a"#, Array(repeating: "a", count: 17).joined(separator: ".")] {
            #expect(KeyPath.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func patternsMatchWholeLevelsAndTakeTheDevice() throws {
        let tasmota = try #require(TopicPattern("tele/{device}/SENSOR"))
        #expect(tasmota.filter == "tele/+/SENSOR")
        #expect(tasmota.device(in: "tele/kitchen/SENSOR") == "kitchen")
        #expect(tasmota.device(in: "tele/kitchen/STATE") == nil)
        #expect(tasmota.device(in: "tele/kitchen/SENSOR/x") == nil)
        #expect(tasmota.device(in: "tele/kitchen") == nil)
        #expect(tasmota.device(in: "tele//SENSOR") == "")
        let shelly = try #require(TopicPattern("{device}/events/rpc"))
        #expect(shelly.device(in: "shellyplusht-08b61fcb7f3c/events/rpc") == "shellyplusht-08b61fcb7f3c")
    }

    @Test func filtersOverlapWhenSomeTopicMatchesBoth() {
        #expect(TopicFilters.overlap("tele/+/SENSOR", "tele/x/+"))
        #expect(TopicFilters.overlap("+/events/rpc", "+/events/rpc"))
        #expect(TopicFilters.overlap("a/#", "a"))
        #expect(TopicFilters.overlap("a/#", "a/b/c"))
        #expect(!TopicFilters.overlap("tele/+/SENSOR", "tele/+/STATE"))
        #expect(!TopicFilters.overlap("+/sensor/temperature/state", "+/events/rpc"))
        #expect(!TopicFilters.overlap("a/+", "a/+/c"))
    }
}

/// Loads a catalog folder holding `json` as its one file: the file's path, and the error that stopped
/// loading (nil, and an issue recorded, when it loaded).
func loadingFails(_ json: String) throws -> (file: String, error: CatalogError?) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("sensor.json")
    try json.write(to: file, atomically: true, encoding: .utf8)
    do {
        _ = try Catalog.load(directory: folder.path)
        Issue.record("a bad catalog file loaded: \(json)")
        return (file.path, nil)
    } catch {
        return (file.path, error)
    }
}
