import Foundation
import MQTT
import Postgres
import Synchronization
import TestSupport
import StorageCore
import Testing

/// Device identity against the real mosquitto: credentials issued over REST reach the broker through
/// `telemetry broker-sync`, the broker refuses whom it should, a device publishes only under its own id,
/// and a revocation disconnects a live session. docs/identity.md.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct DeviceIdentityTests {
    static let frame = HandFrame.float64(seq: 1, base: 1_767_225_600_000_000, samples: [(0, [21.5])])

    static func frame(seq: UInt32) -> [UInt8] {
        HandFrame.float64(seq: seq, base: 1_767_225_600_000_000 + Int64(seq) * 1_000_000, samples: [(0, [21.5])])
    }

    @Test func theBrokerRefusesWhomItShouldAndADevicePublishesOnlyAsItself() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature", "humidity"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature"), humidity = platform.sensor("humidity")
        let passwordA = try await platform.issue("dev-a")
        let passwordB = try await platform.issue("dev-b", sensors: [temperature])
        let a = try await Blocking.run { try platform.connectOnceSynced("dev-a", passwordA) }
        defer { a.stop() }
        let b = try await Blocking.run { try platform.connectOnceSynced("dev-b", passwordB) }
        defer { b.stop() }

        // CONNACK refused: anonymous, an unknown device, a wrong password.
        #expect(try platform.refuses(nil, nil), "anonymous client was let in")
        #expect(try platform.refuses("dev-nobody", passwordA), "unknown device was let in")
        #expect(try platform.refuses("dev-a", passwordB), "wrong password was let in")

        // Its own topic is stored; B's topic is not, nor B on a sensor type it is not allowed. Each denied
        // publish is followed by an allowed one through the same service: once that is stored, the
        // denied one would have been too.
        _ = try a.publish(topic: "telemetry/\(temperature)/dev-a", payload: Self.frame(seq: 1), qos: 1)
        _ = try a.publish(topic: "telemetry/\(temperature)/dev-b", payload: Self.frame(seq: 2), qos: 1)
        _ = try a.publish(topic: "telemetry/\(temperature)/dev-a/tm", payload: Self.frame(seq: 3), qos: 1)
        _ = try b.publish(topic: "telemetry/\(humidity)/dev-b", payload: Self.frame(seq: 4), qos: 1)
        _ = try b.publish(topic: "telemetry/\(humidity)/dev-b/tm", payload: Self.frame(seq: 10), qos: 1)
        await #expect(try eventually { b.inflight == 0 })
        _ = try a.publish(topic: "telemetry/\(humidity)/dev-a", payload: Self.frame(seq: 5), qos: 1)
        let stored = try await Blocking.run {
            try blockingEventually { (try? platform.storedCount(temperature, device: "dev-a")) == 2 && (try? platform.storedCount(humidity, device: "dev-a")) == 1 }
        }
        #expect(stored, "dev-a's own readings were not stored: \(platform.ingest.output.suffix(1500))")
        #expect(try platform.storedCount(temperature, device: "dev-b") == 0, "dev-a published as dev-b")
        #expect(try platform.storedCount(humidity, device: "dev-b") == 0, "dev-b published as a sensor type it is not allowed")

        // A service account reads; it writes nothing, not even under its own name (the devices' ACL patterns would allow that).
        let service = try await Blocking.run { try platform.connectOnceSynced("ingest-\(temperature)", SecuredPlatform.servicePassword, port: platform.broker.port) }
        defer { service.stop() }
        _ = try service.publish(topic: "telemetry/\(temperature)/ingest-\(temperature)", payload: Self.frame(seq: 7), qos: 1)
        _ = try service.publish(topic: "telemetry/\(temperature)/ingest-\(temperature)/tm", payload: Self.frame(seq: 11), qos: 1)
        _ = try service.publish(topic: "telemetry/\(temperature)/dev-a", payload: Self.frame(seq: 8), qos: 1)
        await #expect(try eventually { service.inflight == 0 })
        _ = try a.publish(topic: "telemetry/\(temperature)/dev-a", payload: Self.frame(seq: 9), qos: 1)
        let afterService = try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: "dev-a")) == 3 } }
        #expect(afterService, "dev-a's reading after the service's publishes was not stored")
        #expect(try platform.storedCount(temperature, device: "ingest-\(temperature)") == 0, "a service account published under its own name")
        #expect(try platform.storedCount(temperature, device: "dev-a") == 3, "a service account published as dev-a")

        // A device subscribing to everything receives nothing of another device's.
        let received = Atomic<Int>(0)
        let spy = try await Blocking.run {
            try platform.connectOnceSynced("dev-a", passwordA, subscriptions: ["telemetry/#"]) { _ in received.add(1, ordering: .relaxed) }
        }
        defer { spy.stop() }
        _ = try b.publish(topic: "telemetry/\(temperature)/dev-b", payload: Self.frame(seq: 6), qos: 1)
        let seen = try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: "dev-b")) == 1 } }
        #expect(seen, "dev-b's own reading was not stored")
        #expect(received.load(ordering: .relaxed) == 0, "a device read other devices' messages")
    }

    @Test func credentialRoutesTakeAdminTokensAndRefuseBadInput() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        func status(_ method: String, _ path: String, token: String? = SecuredPlatform.adminToken, body: String? = nil) async throws -> (Int, String) {
            let (code, _, text) = try await platform.call(method, path, token: token, body: body)
            return (code, text)
        }
        #expect(try await status("PUT", "/v1/devices/dev-1/credentials", token: nil).0 == 401)
        #expect(try await status("PUT", "/v1/devices/dev-1/credentials", token: "wrong").0 == 401)
        #expect(try await status("PUT", "/v1/devices/dev-1/credentials", token: SecuredPlatform.readToken).0 == 403)
        #expect(try await status("GET", "/v1/devices/credentials", token: SecuredPlatform.readToken).0 == 403)
        #expect(try await status("GET", "/v1/sensors", token: SecuredPlatform.readToken).0 == 200)
        #expect(try await status("GET", "/v1/sensors", token: SecuredPlatform.adminToken).0 == 200, "an admin token may also read")

        let bad: [(String, String, String?, String)] = [
            ("PUT", "/v1/devices/dev-1/credentials", "{not json", "body"),
            ("PUT", "/v1/devices/dev-1/credentials", "{\"sensors\": \"temperature\"}", "sensors"),
            ("PUT", "/v1/devices/dev-1/credentials", "{\"sensors\": [\"nosuch\"]}", "sensors"),
            ("PUT", "/v1/devices/bad%20id/credentials", nil, "device"),
            ("POST", "/v1/devices/credentials", "{\"devices\": [{\"device\": \"dev-ok\"}, {\"device\": \"bad/id\"}]}", "devices[1].device"),
            ("POST", "/v1/devices/credentials", "{\"devices\": [{\"device\": \"dev-ok\"}, {\"nodevice\": 1}]}", "devices[1].device"),
            ("POST", "/v1/devices/credentials", "{\"devices\": []}", "devices"),
        ]
        for (method, path, body, field) in bad {
            let (code, text) = try await status(method, path, body: body)
            let request = "\(method) \(path) \(body ?? "")"
            #expect(code == 400 && text.contains("\"\(field):"), "\(request): \(code) \(text)")
        }
        // All or nothing: the good entry of the refused batch was not stored.
        #expect(try await status("GET", "/v1/devices/dev-ok/credentials").0 == 404)

        // Create 201, rotate 200; GET never shows the password; the list pages.
        let (created, first, _) = try await platform.call("PUT", "/v1/devices/dev-1/credentials", body: "{\"sensors\": [\"\(temperature)\"]}")
        #expect(created == 201 && (first["password"] as? String)?.count == 32, "\(first)")
        let (rotated, second, _) = try await platform.call("PUT", "/v1/devices/dev-1/credentials")
        #expect(rotated == 200 && second["password"] as? String != first["password"] as? String && second["sensors"] as? [String] == [temperature])
        let (got, shown, text) = try await platform.call("GET", "/v1/devices/dev-1/credentials")
        #expect(got == 200 && shown["password"] == nil && !text.contains("password") && shown["username"] as? String == "dev-1", "\(text)")
        let (provisioned, batch, _) = try await platform.call(
            "POST", "/v1/devices/credentials", body: "{\"devices\": [{\"device\": \"dev-2\"}, {\"device\": \"dev-3\", \"sensors\": [\"\(temperature)\"]}]}")
        #expect(provisioned == 200 && (batch["credentials"] as? [[String: Any]])?.compactMap { $0["password"] as? String }.count == 2, "\(batch)")
        let (_, page, _) = try await platform.call("GET", "/v1/devices/credentials?limit=2")
        let next = try #require(page["next"] as? String, "\(page)")
        let (_, rest, _) = try await platform.call("GET", "/v1/devices/credentials?limit=2&cursor=\(next)")
        let devices = ((page["credentials"] as? [[String: Any]] ?? []) + (rest["credentials"] as? [[String: Any]] ?? [])).compactMap { $0["device"] as? String }
        #expect(devices == ["dev-1", "dev-2", "dev-3"])
        #expect(try await status("DELETE", "/v1/devices/dev-2/credentials").0 == 204)
        #expect(try await status("DELETE", "/v1/devices/dev-2/credentials").0 == 404)
    }

    @Test func revokingDisconnectsALiveDeviceAndRotatingChangesItsPassword() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        let passwordC = try await platform.issue("dev-c")
        let passwordE = try await platform.issue("dev-e")
        let c = try await Blocking.run { try platform.connectOnceSynced("dev-c", passwordC) }
        defer { c.stop() }

        // The emulator's fleet publishes all along, each device as itself: --verify says nothing of it was lost.
        let prefix = "rev" + UUID().uuidString.lowercased().prefix(4)
        var fleet = ""
        for number in 0..<3 {
            let device = "\(prefix)-\(temperature)-\(String(format: "%04d", number))"
            fleet += "\(device),\(try await platform.issue(device))\n"
        }
        let csv = platform.files + "/fleet.csv"
        try fleet.write(toFile: csv, atomically: true, encoding: .utf8)
        let lastOfFleet = fleet.split(separator: "\n").last!.split(separator: ",").map(String.init)
        try await Blocking.run { try platform.connectOnceSynced(lastOfFleet[0], lastOfFleet[1]) }.stop()
        let emulator = try EmulatorRun(
            servers: platform.servers, mqttURL: "mqtt://127.0.0.1:\(platform.devicePort)", database: platform.database, catalog: platform.catalog, sensors: [temperature],
            devices: 3, samples: 1, rate: 60, duration: 8, extra: ["--credentials", csv], prefix: prefix)
        defer { _ = emulator.process.stop() }
        try await emulator.waitForAcked(30)

        // Revoke dev-c while it is connected: the broker drops it within 5 s, and it cannot come back.
        #expect(try await platform.call("DELETE", "/v1/devices/dev-c/credentials").0 == 204)
        let revoked = ContinuousClock.now
        let dropped = try await Blocking.run { try blockingEventually(timeout: .seconds(5), poll: .milliseconds(20)) { !c.isReady } }
        let took = ContinuousClock.now - revoked
        #expect(dropped, "dev-c still connected 5 s after its revocation")
        #expect(try platform.refuses("dev-c", passwordC), "a revoked device connected again")

        // Rotate dev-e: the old password stops working, the new one works.
        let newE = try await platform.issue("dev-e")
        let oldRefused = try await Blocking.run { try blockingEventually(timeout: .seconds(5)) { try platform.refuses("dev-e", passwordE, timeout: .milliseconds(500)) } }
        #expect(oldRefused, "the old password still works after rotation")
        let e = try await Blocking.run { try platform.connectOnceSynced("dev-e", newE) }
        e.stop()

        let exited = try await Blocking.run { emulator.process.waitForExit(timeout: .seconds(120)) }
        let row = emulator.verifyRow(temperature)
        #expect(exited == 0 && row != nil && row![0] > 0 && row![1] == row![0] && row![2] == 0 && row![3] == 0,
                "the fleet lost readings meanwhile: \(emulator.output.suffix(1200))")
        print("verdict: revoked dev-c dropped after \(formatSeconds(took)); the emulator's fleet sent \(row?[0] ?? 0) readings meanwhile, --verify: all stored once")
    }

    @Test func credentialsSurviveRestartsOfTheBrokerAndTheServices() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"])
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        let password = try await platform.issue("dev-r")
        try await Blocking.run { try platform.connectOnceSynced("dev-r", password) }.stop()
        try await platform.broker.restart()
        try await platform.restartSync()
        try await platform.restartIngest()

        // After all three: the same password lets the device in, what it publishes is stored, a wrong one is refused.
        let device = try await Blocking.run { try platform.connectOnceSynced("dev-r", password) }
        defer { device.stop() }
        _ = try device.publish(topic: "telemetry/\(temperature)/dev-r", payload: Self.frame(seq: 1), qos: 1)
        let stored = try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: "dev-r")) == 1 } }
        #expect(stored, "dev-r's reading after the restarts was not stored: \(platform.ingest.output.suffix(1500))")
        #expect(try platform.refuses("dev-r", "not-the-password"))
    }

    /// The broker keeps its files while PostgreSQL is down, and broker-sync listens again once it is back.
    @Test func credentialsSurviveARestartOfPostgreSQL() async throws {
        let postgres = try await PrivatePostgres.make()
        defer { withExtendedLifetime(postgres) {} }
        let platform = try await SecuredPlatform.start(sensors: ["temperature"], databaseURL: postgres.url)
        defer { platform.stop() }
        let kept = try await platform.issue("dev-kept"), revoked = try await platform.issue("dev-revoked")
        try await Blocking.run { try platform.connectOnceSynced("dev-kept", kept) }.stop()
        try await Blocking.run { try platform.connectOnceSynced("dev-revoked", revoked) }.stop()

        try await postgres.stop()
        try await Blocking.run { try platform.connectOnceSynced("dev-kept", kept) }.stop()
        try await postgres.start()

        // Changes made after the restart reach the broker: a new device connects, a revoked one is refused.
        let queryBack = try await Blocking.run { try blockingEventually(timeout: .seconds(30)) { httpStatus("http://127.0.0.1:\(platform.queryPort)/readyz") == 200 } }
        #expect(queryBack, "the query service did not reconnect to PostgreSQL")
        let added = try await platform.issue("dev-added")
        #expect(try await platform.call("DELETE", "/v1/devices/dev-revoked/credentials").0 == 204)
        try await Blocking.run { try platform.connectOnceSynced("dev-added", added) }.stop()
        let refused = try await Blocking.run { try blockingEventually(timeout: .seconds(5)) { try platform.refuses("dev-revoked", revoked) } }
        #expect(refused, "a device revoked after PostgreSQL's restart could still connect; broker-sync: \(platform.sync.output.suffix(1500))")
        try await Blocking.run { try platform.connectOnceSynced("dev-kept", kept) }.stop()
    }
}

/// TLS on the broker's device listeners: `scripts/make-tls.sh` makes the CA and the broker's certificate,
/// `telemetry devices cert` a device's; the platform's MQTT client speaks TLS for `mqtts://`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DeviceTLSTests {
    @Test func devicesConnectOverVerifiedTLSAndACertificateIsItsDevice() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"], tls: true)
        defer { platform.stop() }
        let temperature = platform.sensor("temperature")
        let tlsPort = try #require(platform.tlsPort), certificatePort = try #require(platform.certificatePort)
        let ca = platform.files + "/ca.crt"
        let password = try await platform.issue("dev-t")
        _ = try await Blocking.run { try platform.connectOnceSynced("dev-t", password) }.stop()

        // Verified TLS with a password: in, and stored.
        let device = try #require(try platform.connectTLS(port: tlsPort, caFile: ca, username: "dev-t", password: password), "TLS client refused")
        defer { device.stop() }
        _ = try device.publish(topic: "telemetry/\(temperature)/dev-t", payload: DeviceIdentityTests.frame(seq: 1), qos: 1)
        #expect(try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: "dev-t")) == 1 } })

        // Plaintext to the TLS port, and TLS trusting another CA: no connection.
        #expect(try platform.refuses(port: tlsPort, "dev-t", password), "plaintext reached the TLS listener")
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("other-ca-\(UUID().uuidString.prefix(6))").path
        try SecuredPlatform.run(["/bin/bash", SecuredPlatform.repository + "/scripts/make-tls.sh", other])
        #expect(try platform.connectTLS(port: tlsPort, caFile: other + "/ca.crt", username: "dev-t", password: password) == nil,
                "a client trusting another CA connected")

        // Mutual TLS: the certificate's CN is the device; it publishes as itself only.
        _ = try await platform.issue("dev-m")
        let issued = try await Blocking.run { try platform.issueCertificate("dev-m") }
        try #require(issued.status == 0, "\(issued.output)")
        let certificate = (platform.files + "/devices/dev-m.crt", platform.files + "/devices/dev-m.key")
        #expect(try platform.connectTLS(port: certificatePort, caFile: ca) == nil, "the certificate listener took a client without a certificate")
        let byCertificate = try await Blocking.run {
            var client: MQTTClient?
            _ = try blockingEventually(timeout: .seconds(5)) {
                client = try platform.connectTLS(port: certificatePort, caFile: ca, certificate: certificate)
                return client != nil
            }
            return try #require(client, "the device's certificate was refused")
        }
        defer { byCertificate.stop() }
        _ = try byCertificate.publish(topic: "telemetry/\(temperature)/dev-t", payload: DeviceIdentityTests.frame(seq: 2), qos: 1)
        _ = try byCertificate.publish(topic: "telemetry/\(temperature)/dev-m", payload: DeviceIdentityTests.frame(seq: 3), qos: 1)
        #expect(try await Blocking.run { try blockingEventually { (try? platform.storedCount(temperature, device: "dev-m")) == 1 } })
        #expect(try platform.storedCount(temperature, device: "dev-t") == 1, "the certificate for dev-m published as dev-t")
    }
}

/// `POST /v1/devices/credentials` for a fleet: 10,000 devices in one call, and every one of them gets in.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DeviceProvisioningTests {
    @Test func tenThousandDevicesAreProvisionedInOneCallAndEveryOneConnects() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"])
        defer { platform.stop() }
        let count = 10_000
        let body = "{\"devices\": [" + (0..<count).map { "{\"device\": \"fleet-\(String(format: "%05d", $0))\"}" }.joined(separator: ",") + "]}"
        let started = ContinuousClock.now
        let (status, answer, text) = try await platform.call("POST", "/v1/devices/credentials", body: body)
        let took = ContinuousClock.now - started
        #expect(status == 200, "\(text.prefix(500))")
        // The time is a benchmark's to judge (scripts/bench-credentials.sh); here it is only reported.
        let credentials = (answer["credentials"] as? [[String: Any]] ?? []).compactMap { entry -> (String, String)? in
            guard let device = entry["device"] as? String, let password = entry["password"] as? String else { return nil }
            return (device, password)
        }
        #expect(credentials.count == count)
        let last = try #require(credentials.last)
        // broker-sync writes them and reloads the broker: the last one in is the sign that all are.
        _ = try await Blocking.run { try platform.connectOnceSynced(last.0, last.1) }.stop()
        let synced = ContinuousClock.now - started
        let port = platform.devicePort
        let refused = try await Blocking.run {
            try credentials.filter { try RawMQTTConnect.returnCode(port: port, clientID: "fleet-check-\($0.0)", username: $0.0, password: $0.1) != 0 }
        }
        let checked = ContinuousClock.now - started - synced
        #expect(refused.isEmpty, "\(refused.count) of \(count) refused, e.g. \(refused.prefix(3).map(\.0))")
        #expect(try RawMQTTConnect.returnCode(port: port, clientID: "fleet-check-wrong", username: last.0, password: "wrong") != 0)
        print("verdict: \(count) devices provisioned over REST in \(formatSeconds(took)), all accepted by the broker \(formatSeconds(synced)) after the request; \(count) CONNECTs checked in \(formatSeconds(checked))")
    }
}
