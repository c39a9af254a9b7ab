import Foundation
import Testing
@testable import SensorModel

/// The devices' status topics (docs/devices.md#device-status): which topics, which words, and the
/// catalog's `expected_interval` that decides when a device is silent.
struct StatusTopicsTests {
    @Test(arguments: [
        ("telemetry/status/dev-1", "dev-1", "online", true), ("telemetry/status/dev-1", "dev-1", "offline", false),
        ("tele/plug-7/LWT", "plug-7", "Online", true), ("tele/plug-7/LWT", "plug-7", "Offline", false),  // Tasmota
        ("shellyplusht-c4/online", "shellyplusht-c4", "true", true), ("shellyplusht-c4/online", "shellyplusht-c4", "false", false),  // Shelly Gen2
        ("livingroom/status", "livingroom", "online", true), ("livingroom/status", "livingroom", "offline\n", false),  // ESPHome
    ])
    func firmwareAnnouncementsAreRead(topic: String, device: String, payload: String, online: Bool) throws {
        let status = try #require(StatusTopics.device(in: topic))
        #expect(status.device == device)
        #expect(StatusTopics.isOnline(Array(payload.utf8), online: status.online, offline: status.offline) == online)
    }

    @Test func otherWordsAndOtherTopicsAreNotStatus() throws {
        let own = try #require(StatusTopics.device(in: "telemetry/status/x"))
        for payload in ["true", "1", "", "online!", "off\u{0}line", String(repeating: "online ", count: 4)] {
            #expect(StatusTopics.isOnline(Array(payload.utf8), online: own.online, offline: own.offline) == nil, "\(payload)")
        }
        #expect(StatusTopics.isOnline([0xFF, 0xFE], online: own.online, offline: own.offline) == nil)
        for topic in ["telemetry/temperature/x", "tele/x/SENSOR", "a/b/status", "status", "tele/x/LWT/more", "telemetry/status", "telemetry/online"] {
            #expect(StatusTopics.device(in: topic) == nil, "\(topic)")
        }
    }

    @Test func theSensorTypeNamedStatusIsRefusedAndExpectedIntervalIsRead() throws {
        let (_, error) = try loadingFails(#"{"name": "status", "fields": [{"name": "a", "unit": "V", "min": 0, "max": 1}]}"#)
        #expect(error?.field == "name" && error?.message.contains("telemetry/status") == true, "\(String(describing: error))")
        let (_, bad) = try loadingFails(#"{"name": "v", "expected_interval": "soon", "fields": [{"name": "a", "unit": "V", "min": 0, "max": 1}]}"#)
        #expect(bad?.field == "expected_interval", "\(String(describing: bad))")
        let catalog = try Catalog.load(directory: repositoryCatalog)
        #expect(catalog.sensors.allSatisfy { $0.expectedInterval >= .seconds(10) }, "\(catalog.sensors.map(\.expectedInterval))")
    }

    @Test(arguments: [(Duration.seconds(90), "90s"), (.seconds(120), "2m"), (.seconds(7200), "2h"), (.seconds(172_800), "2d"), (.milliseconds(10), "1s")])
    func durationsAreWrittenAsTheyAreRead(duration: Duration, text: String) {
        #expect(DurationText.format(duration) == text)
        if duration >= .seconds(1) { #expect(DurationText.parse(text) == duration) }
    }
}
