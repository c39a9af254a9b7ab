import SensorModel
import Testing
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

    @Test func sourcesAreSubscribedAfterTheTelemetryFilters() {
        let filters = TopicRouting.filters(for: Self.temperature)
        #expect(Array(filters.suffix(2)) == ["tele/+/SENSOR", "+/sensor/temperature/state"])
        #expect(Array(filters.prefix(2)) == Self.temperature.topicFilters)
        #expect(TopicRouting.filters(for: Self.temperature, sharedGroup: "g").last == "$share/g/+/sensor/temperature/state")
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
}
