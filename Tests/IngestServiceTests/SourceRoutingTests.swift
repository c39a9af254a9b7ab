import SensorModel
import Testing
import StorageWriter
import WireFormats
@testable import IngestService

/// A sensor type's catalog sources: subscribed as well (once each), and routed with the device from the topic.
struct SourceRoutingTests {
    static let temperature = SensorType(
        name: "temperature", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)],
        sources: [
            Source(topic: "tele/{device}/SENSOR", format: .json, fields: ["celsius": ["AM2301.Temperature"]]),
            Source(topic: "{device}/sensor/temperature/state", format: .text),
        ])

    @Test func sourcesAreSubscribedAfterTheTelemetryFiltersAndBeforeTheStatusTopics() {
        let filters = TopicRouting.filters(for: Self.temperature)
        let status = StatusTopics.filters
        #expect(status == ["telemetry/status/+", "tele/+/LWT", "+/online", "+/status"])
        #expect(Array(filters.suffix(2 + status.count)) == ["tele/+/SENSOR", "+/sensor/temperature/state"] + status)
        #expect(Array(filters.prefix(2)) == Self.temperature.topicFilters)
        #expect(TopicRouting.filters(for: Self.temperature, sharedGroup: "g").last == "$share/g/+/status")
        for (index, filter) in filters.enumerated() {
            for other in filters[(index + 1)...] { #expect(!TopicFilters.overlap(filter, other), "\(filter) and \(other)") }
        }
    }

    @Test func aSourceTopicRoutesWithItsDeviceFormatAndSource() throws {
        #expect(try TopicRouting.route("tele/kitchen-1/SENSOR", for: Self.temperature).get()
            == TopicRouting.Route(device: "kitchen-1", format: .json, source: 0))
        #expect(try TopicRouting.route("livingroom/sensor/temperature/state", for: Self.temperature).get()
            == TopicRouting.Route(device: "livingroom", format: .text, source: 1))
        #expect(try TopicRouting.route("telemetry/temperature/dev-1/json", for: Self.temperature).get()
            == TopicRouting.Route(device: "dev-1", format: .json, source: nil))
        #expect(try TopicRouting.route("telemetry/temperature/dev-1/text", for: Self.temperature).get()
            == TopicRouting.Route(device: "dev-1", format: .text, source: nil))
    }

    @Test(arguments: ["tele//SENSOR", "tele/bad device/SENSOR", "tele/\(String(repeating: "x", count: 65))/SENSOR", "tele/ü/SENSOR",
                      "other/topic", "telemetry/temperature/dev-1/xml", "telemetry/temperature",
                      "tele/./SENSOR", "tele/../SENSOR", "telemetry/temperature/..", "telemetry/temperature/./json"])
    func aBadDeviceOrUnknownTopicIsBadTopic(topic: String) {
        guard case .failure(let error) = TopicRouting.route(topic, for: Self.temperature) else {
            Issue.record("routed \(topic)")
            return
        }
        #expect(error.code == .badTopic, "\(topic): \(error)")
    }

    @Test func anotherSensorTypesTopicIsUnknownSensor() {
        guard case .failure(let error) = TopicRouting.route("telemetry/humidity/dev-1", for: Self.temperature) else {
            Issue.record("routed")
            return
        }
        #expect(error.code == .unknownSensor)
    }

    @Test func statusTopicsAreReportsOrDeadLettersAndTheCatchAllLeavesThem() throws {
        let report = try #require(TopicRouting.statusReport("tele/plug-1/LWT", payload: Array("Offline".utf8), receivedAt: 42))
        #expect(try report.get() == StatusReport(device: "plug-1", online: false, at: 42))
        #expect(try TopicRouting.statusReport("telemetry/status/dev-1", payload: [], receivedAt: 1)?.get() == nil, "an empty message clears a retained one")
        let bad = try #require(TopicRouting.statusReport("telemetry/status/dev-1", payload: Array("maybe".utf8), receivedAt: 1))
        #expect(throws: DecodeError.self) { try bad.get() }
        if case .failure(let error) = bad { #expect(error.code == .badStatus) }
        if case .failure(let error) = TopicRouting.statusReport("bad id!/status", payload: Array("online".utf8), receivedAt: 1) { #expect(error.code == .badTopic) }
        #expect(TopicRouting.statusReport("tele/plug-1/SENSOR", payload: [], receivedAt: 1) == nil)
        #expect(TopicRouting.unroutedRejection(of: "telemetry/status/dev-1", known: ["temperature"]) == nil)
        #expect(TopicRouting.unroutedRejection(of: "telemetry/nosuch/dev-1", known: ["temperature"])?.code == .unknownSensor)
    }
}
