import Foundation
import MQTT
import Testing

/// A device's sensor types hold: a rotation keeps them, adding a device that exists changes nothing, and a
/// restricted device writes no other type through any topic, firmware sources included. README, "Device identity".
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DeviceRightsTests {
    @Test func aRotationKeepsTheSensorTypesAndAddingAnExistingDeviceIsRefused() async throws {
        let platform = try SecuredPlatform(sensors: ["temperature", "humidity"])
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
        let status = try await offThePool { add.waitForExit(timeout: .seconds(30)) }
        #expect(status != 0 && add.output.contains("already has a credential"), "devices add on an existing device: \(status.map(String.init) ?? "no exit") \(add.output)")
        #expect(try await platform.call("GET", "/v1/devices/dev-k/credentials").1["rotated"] as? String == before, "devices add rotated the password")
        try await offThePool { try platform.connectOnceSynced("dev-k", password) }.stop()
    }
}
