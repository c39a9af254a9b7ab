import Foundation
import MQTT
import Synchronization
import StorageCore
import Testing

/// Client ids are bound to identity: on the devices' listeners a device's client id is its username, so it
/// can neither take a service's persistent session nor knock another device off; service accounts log in
/// only on the services' listener, which takes no device. docs/identity.md.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClientIdentityTests {
    /// How many times a client lost its connection.
    final class Drops: Sendable {
        let count = Atomic<Int>(0)
        var any: Bool { count.load(ordering: .relaxed) > 0 }
    }

    /// A client of the devices' listener with a client id of its choosing.
    static func hold(_ platform: SecuredPlatform, _ username: String, _ password: String, clientID: String, drops: Drops) throws -> MQTTClient? {
        let url = MQTTURL(host: "127.0.0.1", port: Int32(platform.devicePort), username: username, password: password)
        let client = try MQTTClient(url: url, options: .init(clientID: clientID, cleanSession: false), onConnectionChange: { connected, _ in
            if !connected { drops.count.add(1, ordering: .relaxed) }
        })
        guard (try? client.start()) != nil, client.waitUntilReady(timeout: .seconds(5)) else {
            client.stop()
            return nil
        }
        return client
    }

    @Test func aDeviceCanNeitherTakeAServicesSessionNorKnockAnotherDeviceOff() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        let passwordA = try await platform.issue("dev-a"), passwordB = try await platform.issue("dev-b")
        try await Blocking.run { try platform.connectOnceSynced("dev-a", passwordA) }.stop()
        try await Blocking.run { try platform.connectOnceSynced("dev-b", passwordB) }.stop()

        // dev-b reuses dev-a's client id, then the ingest service's: a takeover closes the older connection at
        // once (and the service, reconnecting, would close the intruder's).
        let dropsA = Drops(), dropsB = Drops()
        let a = try #require(try Self.hold(platform, "dev-a", passwordA, clientID: "shared-id", drops: dropsA))
        defer { a.stop() }
        let b = try #require(try Self.hold(platform, "dev-b", passwordB, clientID: "shared-id", drops: dropsB))
        let knockedOff = try await Blocking.run { try blockingEventually(timeout: .seconds(3)) { dropsA.any } }
        #expect(!knockedOff, "dev-b knocked dev-a off by reusing its client id")
        b.stop()
        let intruderDrops = Drops()
        let intruder = try #require(try Self.hold(platform, "dev-b", passwordB, clientID: "ingest-\(temperature)-0", drops: intruderDrops))
        defer { intruder.stop() }
        let fought = try await Blocking.run { try blockingEventually(timeout: .seconds(5)) { intruderDrops.any } }
        #expect(!fought, "a device connected with the ingest service's client id took its session (the service took it back)")

        // Meanwhile every reading reaches the service.
        _ = try a.publish(topic: "telemetry/\(temperature)/dev-a", payload: DeviceIdentityTests.frame(seq: 1), qos: 1)
        let stored = try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: "dev-a")) == 1 } }
        #expect(stored, "dev-a's reading was not stored: \(platform.ingest.output.suffix(1500))")
    }

    @Test func serviceAccountsLogInOnlyWhereDevicesCannot() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        let password = try await platform.issue("dev-s")
        try await Blocking.run { try platform.connectOnceSynced("dev-s", password) }.stop()
        let servicesPort = platform.broker.port
        #expect(try platform.refuses(port: servicesPort, "dev-s", password), "a device logged in on the services' listener")
        #expect(try platform.refuses("ingest-\(temperature)", SecuredPlatform.servicePassword), "a service account logged in on the devices' listener")
        #expect(try !platform.refuses(port: servicesPort, "ingest-\(temperature)", SecuredPlatform.servicePassword), "the services' listener refused a service")
    }
}
