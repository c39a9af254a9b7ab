import Foundation
import MQTT
import StorageCore
import Testing

/// A device's sensor types hold: a rotation keeps them, adding a device that exists changes nothing, and a
/// restricted device writes no other type through any topic, firmware sources included. docs/identity.md.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DeviceRightsTests {
    @Test func aRotationKeepsTheSensorTypesAndAddingAnExistingDeviceIsRefused() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature", "humidity"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        func sensors(_ answer: [String: Any]) -> [String]? { answer["sensors"] as? [String] }

        let (created, first, _) = try await platform.call("PUT", "/v1/devices/dev-k/credentials", body: "{\"sensors\": [\"\(temperature)\"]}")
        #expect(created == 201 && sensors(first) == [temperature], "\(first)")
        // Rotations without sensor types, one device and a batch: the restriction stays.
        let (rotated, second, text) = try await platform.call("PUT", "/v1/devices/dev-k/credentials")
        #expect(rotated == 200 && sensors(second) == [temperature], "a rotation dropped the restriction: \(text)")
        let (batch, _, batchText) = try await platform.call("POST", "/v1/devices/credentials", body: "{\"devices\": [{\"device\": \"dev-k\"}]}")
        #expect(batch == 200, "\(batchText)")
        #expect(sensors(try await platform.call("GET", "/v1/devices/dev-k/credentials").1) == [temperature], "a batch rotation dropped the restriction")
        // Saying so widens it.
        let (_, widened, _) = try await platform.call("PUT", "/v1/devices/dev-k/credentials", body: "{\"sensors\": null}")
        #expect(widened["sensors"] is NSNull, "\(widened)")

        // `telemetry devices add` on a device that has a credential: refused, and its password unchanged.
        let password = try await platform.issue("dev-k", sensors: [temperature])
        let before = try await platform.call("GET", "/v1/devices/dev-k/credentials").1["rotated"] as? String
        let add = try ServiceProcess(
            "telemetry", arguments: ["devices", "add", "dev-k"],
            environment: ["TELEMETRY_DATABASE_URL": platform.database, "TELEMETRY_CATALOG": platform.catalog.directory], servers: platform.servers)
        let status = try await Blocking.run { add.waitForExit(timeout: .seconds(30)) }
        #expect(status != 0 && add.output.contains("already has a credential"), "devices add on an existing device: \(status.map(String.init) ?? "no exit") \(add.output)")
        #expect(try await platform.call("GET", "/v1/devices/dev-k/credentials").1["rotated"] as? String == before, "devices add rotated the password")
        try await Blocking.run { try platform.connectOnceSynced("dev-k", password) }.stop()
    }

    /// Tasmota's `tele/<id>/SENSOR` feeds temperature, humidity and pressure alike: a device allowed only
    /// temperature must not write humidity or pressure through it.
    @Test func aRestrictionHoldsOnFirmwareSourceTopics() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature", "humidity", "pressure"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature"), humidity = platform.sensor("humidity"), pressure = platform.sensor("pressure")
        let prefix = platform.catalog.topicPrefix
        let bme = #"{"Time":"2026-01-01T12:00:00","BME280":{"Temperature":24.1,"Humidity":42.6,"DewPoint":10.6,"Pressure":1013.2},"PressureUnit":"hPa","TempUnit":"C"}"#
        let restricted = try await platform.issue("dev-only-t", sensors: [temperature])
        let everything = try await platform.issue("dev-all")
        let device = try await Blocking.run { try platform.connectOnceSynced("dev-only-t", restricted) }
        defer { device.stop() }
        let other = try await Blocking.run { try platform.connectOnceSynced("dev-all", everything) }
        defer { other.stop() }

        _ = try device.publish(topic: "\(prefix)tele/dev-only-t/SENSOR", payload: Array(bme.utf8), qos: 1)
        await #expect(try eventually { device.inflight == 0 })
        // After the broker has routed the restricted device's message, another device's through the same
        // services: once that is stored, the first would have been too.
        _ = try other.publish(topic: "\(prefix)tele/dev-all/SENSOR", payload: Array(bme.utf8), qos: 1)
        let stored = try await Blocking.run {
            try blockingEventually { [humidity, pressure, temperature].allSatisfy { (try? platform.storedCount($0, device: "dev-all")) == 1 } }
        }
        #expect(stored, "dev-all's Tasmota message was not stored: \(platform.ingest.output.suffix(1500))")
        #expect(try platform.storedCount(humidity, device: "dev-only-t") == 0, "a device allowed only temperature stored humidity")
        #expect(try platform.storedCount(pressure, device: "dev-only-t") == 0, "a device allowed only temperature stored pressure")

        // Its own type's topic still works.
        _ = try device.publish(topic: "telemetry/\(temperature)/dev-only-t", payload: DeviceIdentityTests.frame(seq: 1), qos: 1)
        #expect(try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: "dev-only-t")) ?? 0 >= 1 } })
    }
}
