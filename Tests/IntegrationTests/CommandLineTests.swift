import Foundation
import TestSupport
import Testing

/// The executable as a person uses it: `--version`; a command that fails at its work says so in one line
/// and exits 1 without the usage; `devices list` has a header or JSON lines, `revoke` says what it did;
/// and the emulator pointed at a platform with TLS and per-device credentials: a missing CA and a wrong
/// password are named as such, and `--provision` gives its devices credentials through the REST API and
/// `--verify` finds every reading.
@Suite(.timeLimit(.minutes(3)))
struct CommandLineTests {
    /// Runs `telemetry` to the end (at most 60 s): its exit status and what it printed (both streams).
    static func telemetry(_ arguments: [String], environment: [String: String], servers: TestServers) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: servers.binDirectory + "/telemetry")
        process.arguments = arguments
        process.environment = environment.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: try makeTemporaryDirectory())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func versionErrorsAndTheDevicesList() async throws {
        let servers = try TestServers.require()
        let version = try Self.telemetry(["--version"], environment: [:], servers: servers)
        #expect(version.status == 0 && version.output.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(version)")

        // From a folder with no config/: the catalog folder it looked in, and where the setting came from.
        let lost = try Self.telemetry(["devices", "list"], environment: [:], servers: servers)
        #expect(lost.status == 2 && lost.output.contains("cannot read the catalog folder (/") && lost.output.contains("its default"), "\(lost)")

        let catalog = try TestCatalog.make(from: ["temperature"])
        let environment = ["TELEMETRY_DATABASE_URL": try servers.makeDatabase(), "TELEMETRY_CATALOG": catalog.directory]
        let missing = try Self.telemetry(["devices", "rotate", "nosuch"], environment: environment, servers: servers)
        #expect(missing.status == 1 && missing.output.contains("nosuch has no credential") && !missing.output.contains("Usage"), "\(missing)")
        #expect(try Self.telemetry(["devices", "add", "door-1"], environment: environment, servers: servers).status == 0)
        let list = try Self.telemetry(["devices", "list"], environment: environment, servers: servers)
        let lines = list.output.split(separator: "\n")
        #expect(lines.first == "DEVICE\tSENSOR TYPES\tCREATED\tROTATED" && lines.count == 2 && lines[1].hasPrefix("door-1\tall\t"), "\(list)")
        let json = try Self.telemetry(["devices", "list", "--json"], environment: environment, servers: servers)
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect(object?["device"] as? String == "door-1" && object?["sensors"] is NSNull && object?["created"] is String, "\(json)")
        let revoked = try Self.telemetry(["devices", "revoke", "door-1"], environment: environment, servers: servers)
        #expect(revoked.status == 0 && revoked.output.contains("revoked door-1"), "\(revoked)")
    }

    @Test func theEmulatorPointedAtAPlatformSaysWhatIsWrongAndProvisionsItsDevices() async throws {
        let platform = try await SecuredPlatform.start(sensors: ["temperature"], tls: true)
        defer { platform.stop() }
        let servers = platform.servers
        let sensor = platform.catalog.sensor("temperature").name
        let url = "mqtts://127.0.0.1:\(try #require(platform.tlsPort))"
        let base = ["TELEMETRY_CATALOG": platform.catalog.directory, "TELEMETRY_DATABASE_URL": platform.database]
        let common = ["emulate", "--url", url, "--sensor", sensor, "--devices", "2", "--duration", "2"]

        let noCA = try Self.telemetry(common, environment: base, servers: servers)
        #expect(noCA.status != 0 && noCA.output.contains("TLS verification failed") && noCA.output.contains("--ca-file"), "\(noCA)")

        let credentials = try makeTemporaryDirectory() + "/wrong.csv"
        try "emu-\(sensor)-0000,wrong\nemu-\(sensor)-0001,wrong\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        let wrong = try Self.telemetry(common + ["--ca-file", platform.files + "/ca.crt", "--credentials", credentials], environment: base, servers: servers)
        #expect(wrong.status != 0 && wrong.output.contains("not authorised"), "\(wrong)")

        let provisioned = try Self.telemetry(
            common + ["--ca-file", platform.files + "/ca.crt", "--provision", "--api", "http://127.0.0.1:\(platform.queryPort)",
                      "--admin-token", SecuredPlatform.adminToken, "--verify"],
            environment: base, servers: servers)
        #expect(provisioned.status == 0 && provisioned.output.contains("provisioned 2 devices") && provisioned.output.contains("verify: OK"), "\(provisioned)")
    }
}
