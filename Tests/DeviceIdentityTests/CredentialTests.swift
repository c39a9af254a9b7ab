import Foundation
import SensorModel
import Testing
@testable import DeviceIdentity

@Suite struct PasswordHashTests {
    /// Written by mosquitto_passwd 2.0.11 (`mosquitto_passwd -b -c file dev-1 secret`): the broker's own format.
    static let fromMosquittoPasswd = "$7$101$T+q0VuUYcvgvcYP2$YmqseyBqojMpMD14Twy4rW6Xs31M8wP2x2cJy/dh9cAwTHX5TQn2EOSQa7uwxboZEbTjnMwN6LwSaP32RyOPgQ=="

    @Test func verifiesWhatMosquittoPasswdWrote() throws {
        let hash = try #require(PasswordHash(parsing: Self.fromMosquittoPasswd))
        #expect(hash.iterations == 101 && hash.salt.count == 12 && hash.hash.count == 64)
        #expect(hash.verifies("secret"))
        #expect(!hash.verifies("Secret"))
        #expect(hash.description == Self.fromMosquittoPasswd, "written back byte for byte")
    }

    @Test func newHashesRoundTripWithFreshSalts() throws {
        let password = try PasswordHash.randomPassword()
        #expect(password.count == 32 && !password.contains(":") && !password.contains("/") && !password.contains("+"))
        let first = try PasswordHash(password: password), second = try PasswordHash(password: password)
        #expect(first.salt != second.salt && first.hash != second.hash)
        let parsed = try #require(PasswordHash(parsing: first.description))
        #expect(parsed == first && parsed.verifies(password) && !parsed.verifies(password + "x"))
    }

    @Test(arguments: ["", "secret", "$6$abc$def", "$7$x$AAAA$AAAA", "$7$101$T+q0VuUYcvgvcYP2$AAAA", "$7$0$T+q0VuUYcvgvcYP2$" + String(repeating: "A", count: 88)])
    func refusesWhatIsNotAHash(_ text: String) {
        #expect(PasswordHash(parsing: text) == nil)
    }

    @Test func constantTimeEqualComparesWholeValues() {
        #expect(constantTimeEqual(Array("token".utf8), Array("token".utf8)))
        #expect(!constantTimeEqual(Array("token".utf8), Array("tokeN".utf8)))
        #expect(!constantTimeEqual(Array("token".utf8), Array("token2".utf8)))
        #expect(!constantTimeEqual([UInt8](), Array("x".utf8)))
    }
}

@Suite struct BrokerFilesTests {
    static let catalog = try! Catalog(sensors: [
        SensorType(name: "temperature", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)]),
        SensorType(name: "humidity", fields: [Field(name: "relative_humidity", unit: "%RH", min: 0, max: 100)]),
    ])

    @Test func devicesWriteOnlyUnderTheirOwnIdAndServicesOnlyRead() {
        let devices = [
            DeviceCredential(device: "dev-1", sensors: nil, passwordHash: "$7$101$a$b", created: 0, rotated: 0),
            DeviceCredential(device: "dev-2", sensors: ["humidity"], passwordHash: "$7$101$c$d", created: 0, rotated: 0),
        ]
        let files = BrokerFiles(
            devices: devices, services: BrokerFiles.serviceAccounts(catalog: Self.catalog, passwordHash: "$7$101$s$h"),
            sources: BrokerFiles.sourcePatterns(catalog: Self.catalog))
        // Devices and services log in on listeners of their own: each listener's files hold only its accounts.
        #expect(files.passwords == "dev-1:$7$101$a$b\ndev-2:$7$101$c$d\n")
        #expect(files.servicePasswords == "ingest-humidity:$7$101$s$h\ningest-temperature:$7$101$s$h\ningest-unrouted:$7$101$s$h\n")
        let rules = files.acl.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        // Status topics (telemetry/status/%u is among the first two) are every device's, whatever its sensor types.
        #expect(rules == [
            "pattern write telemetry/+/%u", "pattern write telemetry/+/%u/+", "pattern write tele/%u/LWT", "pattern write %u/online", "pattern write %u/status",
            "user dev-2", "topic deny telemetry/temperature/dev-2/#",
        ])
        let status: [String] = ["topic read telemetry/status/+", "topic read tele/+/LWT", "topic read +/online", "topic read +/status"]
        var expected: [String] = ["user ingest-humidity", "topic read telemetry/humidity/#"]
        expected += status + ["topic write alerts/humidity/#"]
        expected += ["user ingest-temperature", "topic read telemetry/temperature/#"]
        expected += status + ["topic write alerts/temperature/#"]
        expected += ["user ingest-unrouted", "topic read telemetry/#", "topic read alerts/#"]
        #expect(files.serviceACL.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init) == expected)
        #expect(!rules.contains { $0.hasPrefix("pattern") && !$0.hasPrefix("pattern write") }, "a pattern applies to every client: write only")
    }

    /// mosquitto 2.0.11 walks every `user` block read so far for each line, so a block per device made
    /// 100,000 devices take minutes to load: devices allowed every sensor type get none.
    @Test func devicesAllowedEverySensorTypeAddNoLinesToTheACL() {
        let services = BrokerFiles.serviceAccounts(catalog: Self.catalog, passwordHash: "$7$101$s$h")
        let sources = BrokerFiles.sourcePatterns(catalog: Self.catalog)
        let none = BrokerFiles(devices: [], services: services, sources: sources)
        let devices = (0..<1000).map { DeviceCredential(device: "dev-\($0)", sensors: $0.isMultiple(of: 2) ? nil : ["temperature", "humidity"],
                                                        passwordHash: "$7$101$a$b", created: 0, rotated: 0) }
        #expect(BrokerFiles(devices: devices, services: services, sources: sources).acl == none.acl)
    }

    @Test func theServiceAccountsNamesAreNotDeviceIds() {
        // Whatever the case: a reader (and some tools) would take INGEST-temperature for the service's account.
        for device in ["ingest-temperature", "ingest-unrouted", "ingest-x", BrokerSync.probeUser, "telemetry",
                       "INGEST-temperature", "Ingest-unrouted", BrokerSync.probeUser.uppercased() + "-1", "Telemetry"] {
            #expect { try DeviceCredentials.validate(device: device, sensors: nil, catalog: Self.catalog) } throws: { ($0 as? CredentialError)?.code == "invalid_device" }
        }
        #expect(throws: Never.self) { try DeviceCredentials.validate(device: "ingest", sensors: nil, catalog: Self.catalog) }
    }

    /// Catalog sources: a device may publish to them under its own id, and the sensor type's service read them.
    @Test func sourceTopicsAreWrittenUnderTheDevicesOwnIdAndReadByTheirService() throws {
        let temperature = SensorType(
            name: "temperature", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)],
            sources: [Source(topic: "tele/{device}/SENSOR", format: .json), Source(topic: "{device}/sensor/temperature/state", format: .text),
                      Source(topic: "application/app1/device/{device}/event/up", format: .lpp, envelope: .chirpstack),
                      Source(topic: "spBv1.0/plant", format: .sparkplug)])
        let humidity = SensorType(
            name: "humidity", fields: [Field(name: "relative_humidity", unit: "%RH", min: 0, max: 100)],
            sources: [Source(topic: "tele/{device}/SENSOR", format: .json)])
        let catalog = try Catalog(sensors: [temperature, humidity])
        let devices = [
            DeviceCredential(device: "kitchen", sensors: nil, passwordHash: "$7$101$a$b", created: 0, rotated: 0),
            DeviceCredential(device: "bath", sensors: ["humidity"], passwordHash: "$7$101$c$d", created: 0, rotated: 0),
        ]
        let files = BrokerFiles(
            devices: devices, services: BrokerFiles.serviceAccounts(catalog: catalog, passwordHash: "$7$101$s$h"),
            sources: BrokerFiles.sourcePatterns(catalog: catalog))
        let rules = files.acl.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(rules == [
            // A Sparkplug edge node publishes as itself, for its own metrics and its devices'.
            "pattern write telemetry/+/%u", "pattern write telemetry/+/%u/+", "pattern write spBv1.0/plant/+/%u", "pattern write spBv1.0/plant/+/%u/+",
            "pattern write tele/%u/SENSOR", "pattern write %u/sensor/temperature/state",
            "pattern write tele/%u/LWT", "pattern write %u/online", "pattern write %u/status",
            // Only humidity: not temperature's topics, nor any source that feeds temperature (Tasmota's feeds both).
            "user bath", "topic deny telemetry/temperature/bath/#", "topic deny spBv1.0/plant/+/bath", "topic deny spBv1.0/plant/+/bath/+",
            "topic deny tele/bath/SENSOR", "topic deny bath/sensor/temperature/state",
        ])
        let status: [String] = ["topic read telemetry/status/+", "topic read tele/+/LWT", "topic read +/online", "topic read +/status"]
        var expected: [String] = ["user ingest-humidity", "topic read telemetry/humidity/#", "topic read tele/+/SENSOR"]
        expected += status + ["topic write alerts/humidity/#"]
        // A network server's uplinks: read by the service, written by no device (they come through a bridge).
        expected += ["user ingest-temperature", "topic read telemetry/temperature/#", "topic read tele/+/SENSOR", "topic read +/sensor/temperature/state",
                     "topic read application/app1/device/+/event/up", "topic read spBv1.0/plant/+/+", "topic read spBv1.0/plant/+/+/+"]
        // The service asks an edge node for a rebirth on its NCMD topic.
        expected += status + ["topic write alerts/temperature/#", "topic write spBv1.0/plant/NCMD/+"]
        expected += ["user ingest-unrouted", "topic read telemetry/#", "topic read alerts/#"]
        #expect(files.serviceACL.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init) == expected)
    }

    @Test func credentialsAreCheckedAgainstTheGrammarAndTheCatalog() {
        #expect(throws: Never.self) { try DeviceCredentials.validate(device: "dev-1.a_b", sensors: ["humidity"], catalog: Self.catalog) }
        for (device, sensors, code) in [("bad id", nil, "invalid_device"), ("", nil, "invalid_device"), (String(repeating: "a", count: 65), nil, "invalid_device"),
                                        (".", nil, "invalid_device"), ("..", nil, "invalid_device"),
                                        ("dev-1", [], "invalid_sensors"), ("dev-1", ["nosuch"], "invalid_sensors"),
                                        ("dev-1", ["humidity", "temperature", "humidity"], "invalid_sensors")] as [(String, [String]?, String)] {
            #expect { try DeviceCredentials.validate(device: device, sensors: sensors, catalog: Self.catalog) } throws: { ($0 as? CredentialError)?.code == code }
        }
    }

    @Test func arrayLiteralsQuoteEveryElement() {
        #expect(DeviceCredentials.arrayLiteral(["a", "b\"c", "d\\e", "", nil]) == #"{"a","b\"c","d\\e","",NULL}"#)
    }
}

/// broker-sync does not SIGHUP a broker younger than a second (it may not handle the signal yet): the
/// age it reads from /proc.
@Suite struct ProcessAgeTests {
    @Test func aProcessJustStartedIsYoungerThanASecondAndThisOneIsNot() throws {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["5"]
        try child.run()
        defer { child.terminate() }
        let young = try #require(BrokerSync.processAge(child.processIdentifier))
        #expect(young >= 0 && young < 1, "\(young)")
        Thread.sleep(forTimeInterval: 1.2)
        let older = try #require(BrokerSync.processAge(child.processIdentifier))
        #expect(older >= 1.1 && older < 5, "\(older)")
        #expect(BrokerSync.processAge(-1) == nil)
    }
}
