import Foundation
import MQTT
import StorageCore
import Testing

/// Client certificates follow the credential: none is issued to a device without one, and revoking it
/// revokes the device's certificates (the listener's CRL): a live session ends within 5 s, as with a
/// password, the certificate is refused from then on, also after the device is added again. docs/identity.md.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CertificateRevocationTests {
    @Test func aRevokedDevicesCertificateIsCutOffAndRefusedAndNoneIsIssuedWithoutACredential() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"], tls: true)
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        let certificatePort = try #require(platform.certificatePort)
        let ca = platform.files + "/ca.crt"
        let certificate = (platform.files + "/devices/dev-c.crt", platform.files + "/devices/dev-c.key")

        // No credential, no certificate.
        let refused = try await Blocking.run { try platform.issueCertificate("dev-c") }
        #expect(refused.status != 0 && refused.output.contains("has no credential"), "a certificate was issued to a device without a credential: \(refused.output)")

        let (client, drops) = try await Self.connectWithCertificate("dev-c", platform: platform)
        defer { client.stop() }

        // Revoked while connected: dropped within 5 s, and its certificate refused from then on.
        #expect(try await platform.call("DELETE", "/v1/devices/dev-c/credentials").0 == 204)
        let dropped = try await Blocking.run { try blockingEventually(timeout: .seconds(5), poll: .milliseconds(20)) { drops.any } }
        #expect(dropped, "the revoked device's certificate session was still connected 5 s after its revocation: \(platform.sync.output.suffix(1000))")
        #expect(try platform.connectTLS(port: certificatePort, caFile: ca, certificate: certificate) == nil, "a revoked certificate connected again")
        _ = try client.publish(topic: "telemetry/\(temperature)/dev-c", payload: DeviceIdentityTests.frame(seq: 2), qos: 1)

        // Added again with a password: that works, the old certificate stays refused.
        let again = try await platform.issue("dev-c")
        try await Blocking.run { try platform.connectOnceSynced("dev-c", again) }.stop()
        #expect(try platform.connectTLS(port: certificatePort, caFile: ca, certificate: certificate) == nil, "a revoked certificate came back with its device")
        #expect(try platform.storedCount(temperature, device: "dev-c") == 1, "a reading was stored after the revocation")
    }

    /// Revoked and provisioned again at once (an operator resetting a compromised device): the old
    /// certificate's live session still ends, though the device has a credential by the time broker-sync writes.
    @Test func aCertificateSessionEndsWhenItsDeviceIsRevokedAndAddedAgainAtOnce() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"], tls: true)
        defer { platform.stop() }
        let (client, drops) = try await Self.connectWithCertificate("dev-r", platform: platform)
        defer { client.stop() }
        #expect(try await platform.call("DELETE", "/v1/devices/dev-r/credentials").0 == 204)
        _ = try await platform.issue("dev-r")
        let dropped = try await Blocking.run { try blockingEventually(timeout: .seconds(5), poll: .milliseconds(20)) { drops.any } }
        #expect(dropped, "the revoked certificate's session was still connected 5 s after its revocation: \(platform.sync.output.suffix(1000))")
    }

    /// `device` with a credential, a certificate, and a live session on the certificate listener that
    /// has stored one reading; the drops of that session counted.
    static func connectWithCertificate(_ device: String, platform: SecuredPlatform) async throws -> (MQTTClient, ClientIdentityTests.Drops) {
        let certificatePort = try #require(platform.certificatePort)
        let temperature = platform.sensor("temperature")
        let password = try await platform.issue(device)
        try await Blocking.run { try platform.connectOnceSynced(device, password) }.stop()
        let issued = try await Blocking.run { try platform.issueCertificate(device) }
        try #require(issued.status == 0, "\(issued.output)")
        let drops = ClientIdentityTests.Drops()
        var url = MQTTURL(host: "127.0.0.1", port: Int32(certificatePort), tls: true, caFile: platform.files + "/ca.crt")
        url.certificateFile = platform.files + "/devices/\(device).crt"
        url.keyFile = platform.files + "/devices/\(device).key"
        let client = try MQTTClient(url: url, options: .init(clientID: device), onConnectionChange: { connected, _ in
            if !connected { drops.count.add(1, ordering: .relaxed) }
        })
        try client.start()
        #expect(client.waitUntilReady(timeout: .seconds(5)), "the device's certificate was refused")
        _ = try client.publish(topic: "telemetry/\(temperature)/\(device)", payload: DeviceIdentityTests.frame(seq: 1), qos: 1)
        #expect(try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: device)) == 1 } })
        return (client, drops)
    }
}
