import SensorModel
import Testing
@testable import IngestService

/// Every topic under `telemetry` reaches exactly one pipeline: its sensor type's service (which stores it
/// or dead-letters it as bad_topic) or, when the sensor type is not in the catalog, the catch-all.
struct TopicRoutingTests {
    static let temperature = SensorType(name: "temperature", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)])
    static let humidity = SensorType(name: "humidity", fields: [Field(name: "relative_humidity", unit: "%RH", min: 0, max: 100)])

    /// MQTT 3.1.1 section 4.7 matching: `+` is one level, a trailing `#` is the parent level and any below.
    static func matches(_ filter: String, _ topic: String) -> Bool {
        var filter = filter
        if filter.hasPrefix("$share/") {
            filter = filter.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)[2].description
        }
        let want = filter.split(separator: "/", omittingEmptySubsequences: false)
        let have = topic.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in want.enumerated() {
            if level == "#" { return true }
            guard index < have.count, level == "+" || level == have[index] else { return false }
        }
        return want.count == have.count
    }

    static let topics = [
        "telemetry", "telemetry/", "telemetry/x", "telemetry//dev-1",
        "telemetry/temperature", "telemetry/temperature/", "telemetry/temperature/dev-1", "telemetry/temperature/dev-1/tm",
        "telemetry/temperature/dev-1/tm/extra", "telemetry/temperature/dev-1/tm/", "telemetry/temperature/a/b/c/d/e",
        "telemetry/temperature/bad device!/nosuchformat", "telemetry/temperatures/dev-1", "telemetry/humidity/dev-1/lpp/x",
        "telemetry/nosuch/dev-1", "telemetry/nosuch/dev-1/tm", "telemetry/nosuch/dev-1/tm/extra", "telemetry/nosuch",
    ]

    @Test func aSensorTypesFiltersCoverEveryLevelCountOnceAndKeepTheCatalogFilters() {
        let filters = TopicRouting.filters(for: Self.temperature)
        #expect(Array(filters.prefix(2)) == Self.temperature.topicFilters, "filters of existing persistent sessions unchanged")
        for topic in Self.topics {
            let matching = filters.filter { Self.matches($0, topic) }
            let own = topic == "telemetry/temperature" || topic.hasPrefix("telemetry/temperature/")
            #expect(matching.count == (own ? 1 : 0), "\(topic): \(matching)")
        }
    }

    @Test func sharedSubscriptionsPrefixEveryFilter() {
        let plain = TopicRouting.filters(for: Self.temperature)
        let shared = TopicRouting.filters(for: Self.temperature, sharedGroup: "ingest-temperature")
        #expect(shared == plain.map { "$share/ingest-temperature/" + $0 })
        #expect(TopicRouting.unroutedFilters(sharedGroup: "ingest-unrouted") == ["$share/ingest-unrouted/telemetry/#"])
        for topic in Self.topics {
            #expect(shared.filter { Self.matches($0, topic) }.count == plain.filter { Self.matches($0, topic) }.count, "\(topic)")
        }
    }

    /// An edge node's session needs all its messages: each replica reads a Sparkplug group whole.
    @Test func sparkplugGroupsAreNeverShared() {
        var plant = Self.temperature
        plant.sources = [Source(topic: "spBv1.0/plant", format: .sparkplug)]
        let shared = TopicRouting.filters(for: plant, sharedGroup: "ingest-temperature")
        #expect(shared.filter { $0.contains("spBv1.0") } == ["spBv1.0/plant/+/+", "spBv1.0/plant/+/+/+"])
        #expect(shared.filter { !$0.contains("spBv1.0") }.allSatisfy { $0.hasPrefix("$share/ingest-temperature/") })
    }

    @Test func theCatchAllTakesWhatNoSensorTypesServiceTakes() {
        let catalog = [Self.temperature, Self.humidity]
        let known = Set(catalog.map(\.name))
        for topic in Self.topics {
            let services = catalog.filter { sensor in TopicRouting.filters(for: sensor).contains { Self.matches($0, topic) } }.count
            #expect(TopicRouting.unroutedFilters().allSatisfy { Self.matches($0, topic) }, "\(topic)")
            let catchAll = TopicRouting.unroutedRejection(of: topic, known: known) == nil ? 0 : 1
            #expect(services + catchAll == 1, "\(topic): \(services) services, catch-all \(catchAll)")
        }
    }

    @Test func theCatchAllsReasons() {
        let known: Set<String> = ["temperature"]
        func verdict(_ topic: String) -> String? { TopicRouting.unroutedRejection(of: topic, known: known)?.description }
        #expect(verdict("telemetry/temperature/dev-1") == nil)
        #expect(verdict("telemetry/temperature/dev-1/tm/extra") == nil)
        #expect(verdict("telemetry/temperature") == nil)
        #expect(verdict("telemetry/nosuch/dev-1") == "unknown_sensor: no sensor type 'nosuch' in the catalog")
        #expect(verdict("telemetry/nosuch/dev-1/tm/extra/more") == "unknown_sensor: no sensor type 'nosuch' in the catalog")
        #expect(verdict("telemetry//dev-1") == "unknown_sensor: no sensor type '' in the catalog")
        #expect(verdict("telemetry/x") == "bad_topic: topic must be telemetry/{sensor}/{device}[/{format}], got 2 levels")
        #expect(verdict("telemetry") == "bad_topic: topic must be telemetry/{sensor}/{device}[/{format}], got 1 level")
        #expect(verdict("other/nosuch/dev-1") == "bad_topic: topic must start with telemetry/")
        let long = String(repeating: "n", count: 500)
        #expect(verdict("telemetry/\(long)/dev-1") == "unknown_sensor: no sensor type '\(long.prefix(64))' in the catalog")
    }
}
