import Foundation
import TestSupport
import StorageCore
import Testing

/// broker-sync says ready only while the broker has every credential issued so far, and a write the broker
/// did not take is tried again without waiting for another change: a credential issued while the broker
/// could not be told works once broker-sync is ready, at the device's first try. docs/identity.md.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct BrokerSyncReadinessTests {
    @Test func brokerSyncIsReadyOnlyOnceTheBrokerHasTheCredentials() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"])
        defer { platform.stop() }
        let readyz = "http://127.0.0.1:\(platform.syncHealthPort)/readyz"
        // broker-sync started before the broker (its first write found none to tell): ready with no change to prompt it.
        let first = try await Blocking.run { try blockingEventually(timeout: .seconds(10)) { httpStatus(readyz) == 200 } }
        #expect(first, "broker-sync not ready 10 s after the broker started: \(platform.sync.output.suffix(1500))")

        // The broker cannot be told (its pid file gone, as before it has written one): a credential issued now
        // is not the broker's yet, and broker-sync says so.
        let pidFile = platform.files + "/mosquitto.pid"
        try FileManager.default.moveItem(atPath: pidFile, toPath: pidFile + ".away")
        let password = try await platform.issue("dev-late")
        let notReady = try await Blocking.run { try blockingEventually(timeout: .seconds(10)) { httpStatus(readyz) == 503 } }
        #expect(notReady, "broker-sync said ready while the broker did not have a credential")

        // Once it can be told, with no other change: ready again, and the device gets in at its first try.
        try FileManager.default.moveItem(atPath: pidFile + ".away", toPath: pidFile)
        let again = try await Blocking.run { try blockingEventually(timeout: .seconds(10)) { httpStatus(readyz) == 200 } }
        #expect(again, "broker-sync did not try again: \(platform.sync.output.suffix(1500))")
        #expect(try RawMQTTConnect.returnCode(port: platform.devicePort, clientID: "late-first-try", username: "dev-late", password: password) == 0,
                "a credential issued while the broker could not be told was refused once broker-sync said ready")
    }
}
