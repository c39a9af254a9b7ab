import ArgumentParser
import DeviceEmulator
import Foundation
import MQTT
import SensorModel
import Settings
import StorageCore

/// `telemetry emulate`: the device emulator (load, and proof that nothing was lost).
struct EmulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulate",
        abstract: "Emulates a fleet of devices publishing readings over MQTT, and checks that they were stored.",
        discussion: """
            Uses TELEMETRY_MQTT_URL, TELEMETRY_CATALOG and (for --verify) TELEMETRY_DATABASE_URL, or config/telemetry.json.
            Always stops by itself: after --count messages, or after --duration.
            """)

    @Option(name: .long, help: "Sensor type to emulate (default temperature); repeat for several, or 'all'. With --profile: the catalog's names for what the firmware measures, in its order (default temperature humidity pressure, as many as it measures).")
    var sensor: [String] = []

    @Option(name: .long, help: "Payload format: tm, lpp, senml-json, senml-cbor, json, text, mixed (devices take turns), or sensor=format (repeatable).")
    var format: [String] = []

    @Option(name: .long, help: "Publish as this firmware does, on its topic (tasmota, shelly, esphome), or as a LoRaWAN network server publishes a node's uplinks (chirpstack, ttn: on the catalog's source with that envelope), or as a Sparkplug B edge node with one device (sparkplug: on the catalog's sparkplug source); the sensor types are those it measures (see --sensor); --format is not used.")
    var profile: String?

    @Option(name: .long, help: "Devices per sensor type.")
    var devices: Int = 10

    @Option(name: .long, help: "Readings per message.")
    var samples: Int = 1

    @Option(name: .long, help: "Messages per second over the whole fleet.")
    var rate: Double = 10

    @Option(name: .long, help: "Per-device interval between messages in seconds (overrides --rate).")
    var interval: Double?

    @Option(name: .long, help: "MQTT QoS, 0 or 1.")
    var qos: Int32 = 1

    @Option(name: .long, help: "Stop after this many messages in all.")
    var count: Int?

    @Option(name: .long, help: "Stop after this many seconds (when no --count).")
    var duration: Double = 10

    @Option(name: .long, help: "Shared MQTT connections; 0 gives each device its own.")
    var connections: Int = 1

    @Option(name: .long, help: "Device ids are <prefix>-<sensor>-<n>; with --profile <prefix>-<profile>-<n> (a Sparkplug edge node's device: <prefix>-sparkplug-<n>.sensor; a ChirpStack node: a DevEUI derived from it).")
    var devicePrefix: String?

    @Option(name: .long, help: "Microseconds between two samples of one device (default: the device's message interval / samples, so reading times follow the clock).")
    var sampleSpacing: Int64?

    @Option(name: .long, help: "Share of messages sent malformed on purpose, 0...1 (counted apart).")
    var malformed: Double = 0

    @Option(name: .long, help: "Random seed for signals.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "A CSV of device,password lines (what `telemetry devices import` prints): each device connects as itself.")
    var credentials: String?

    @Option(name: .long, help: "The broker, e.g. mqtts://broker.example:8883 (default: the mqtt_url setting).")
    var url: String?

    @Option(name: .long, help: "The CA certificate that signed the broker's (for mqtts://; default: the mqtt_ca_file setting, else the system's CAs).")
    var caFile: String?

    @Flag(name: .long, help: "Create the devices' credentials first through the REST API (POST /v1/devices/credentials with an admin token), and connect each device as itself.")
    var provision = false

    @Option(name: .long, help: "The query service for --provision (default: http://<http_host>:<http_port> from the settings).")
    var api: String?

    @Option(name: .long, help: "An admin token for --provision (default: the first of the admin_tokens setting).")
    var adminToken: String?

    @Flag(name: .long, help: "After sending, check PostgreSQL: sent / stored / missing / duplicated per sensor type, counting only this run's readings; exit 1 if any missing.")
    var verify = false

    @Option(name: .long, help: "Seconds --verify waits for readings to be stored.")
    var verifyTimeout: Double = 60

    func validate() throws {
        guard devices >= 1 else { throw ValidationError("--devices must be at least 1") }
        guard (1...4096).contains(samples) else { throw ValidationError("--samples must be 1...4096") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        guard qos == 0 || qos == 1 else { throw ValidationError("--qos must be 0 or 1") }
        guard (0...1).contains(malformed) else { throw ValidationError("--malformed must be 0...1") }
        let spacing = sampleSpacing ?? 1
        guard spacing >= 1, spacing * Int64(samples - 1) < Int64(UInt32.max) else {
            throw ValidationError("--sample-spacing × (samples − 1) must fit a frame's 32-bit microsecond offsets")
        }
        if let count { guard count >= 1 else { throw ValidationError("--count must be at least 1") } }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
    }

    func run() async throws {
        let (settings, _) = try await Startup.settings("emulate") { _ in () }
        let catalog = try loadOrExit { try Catalog.load(directory: settings.catalogDirectory) }
        var url = try loadOrExit { try MQTTURL(parsing: self.url ?? settings.mqttURL) }
        url.caFile = caFile ?? settings.mqttCAFile
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) { throw ValidationError("--ca-file: cannot read \(caFile)") }
        var profile: DeviceProfile?
        if let name = self.profile {
            guard let parsed = DeviceProfile(rawValue: name) else {
                throw ValidationError("unknown profile '\(name)' (\(DeviceProfile.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            profile = parsed
        }
        var sensors: [SensorType] = []
        var profileTopic: String?
        if let profile, !sensor.isEmpty, sensor.count != profile.sensorNames.count {
            throw ValidationError("--profile \(profile.rawValue) measures \(profile.sensorNames.joined(separator: ", ")): give as many --sensor names")
        }
        for name in profile.map({ sensor.isEmpty ? $0.sensorNames : sensor }) ?? [] {
            // The catalog must take the firmware's topic (one pattern) for each sensor type the profile feeds.
            let wanted = profile == .sparkplug ? #"with "format": "sparkplug" (docs/devices.md#sparkplug-b)"#
                : profile!.envelope.map { #"with "envelope": "\#($0.rawValue)" (docs/devices.md#lorawan-network-servers)"# } ?? profile!.defaultTopic
            guard let type = catalog[name], let source = profile!.source(of: type), profileTopic == nil || profileTopic == source.topic else {
                throw ValidationError("--profile \(profile!.rawValue) feeds \(name), but the catalog's \(name) has no source \(profileTopic ?? wanted)")
            }
            profileTopic = source.topic
            sensors.append(type)
        }
        for name in sensor.isEmpty ? ["temperature"] : sensor where profile == nil {
            if name == "all" { sensors = catalog.sensors; break }
            guard let type = catalog[name] else {
                throw ValidationError("unknown sensor type '\(name)' (catalog: \(catalog.sensors.map(\.name).joined(separator: ", ")))")
            }
            sensors.append(type)
        }
        var options = EmulatorOptions(sensors: sensors)
        for entry in format {
            if entry == "mixed" { options.mixedFormats = true; continue }
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard let parsed = PayloadFormat(rawValue: parts.last!), PayloadFormat.onTelemetryTopics.contains(parsed) else {
                throw ValidationError("unknown format '\(parts.last!)' (\(PayloadFormat.onTelemetryTopics.map(\.rawValue).joined(separator: ", ")), mixed; Sparkplug B: --profile sparkplug)")
            }
            if parts.count == 2 { options.formats[parts[0]] = parsed } else { for type in sensors { options.formats[type.name] = parsed } }
        }
        for type in sensors where (options.formats[type.name] == .text) && type.fields.count != 1 {
            throw ValidationError("--format text carries one number; \(type.name) has \(type.fields.count) fields")
        }
        options.profile = profile
        options.profileTopic = profileTopic ?? ""
        options.devices = devices
        options.samples = samples
        options.rate = interval.map { Double(emulatorDeviceCount(sensors)) / $0 } ?? rate
        options.qos = qos
        options.count = count
        options.duration = .milliseconds(Int64(duration * 1000))
        options.connections = connections
        options.devicePrefix = devicePrefix ?? (verify ? "emu\(String(UInt32.random(in: 0...UInt32.max), radix: 36))" : "emu")
        // Spread a device's samples over its own message interval, so reading times track the clock.
        let deviceInterval = Double(emulatorDeviceCount(sensors)) / options.rate
        options.sampleSpacing = sampleSpacing ?? max(1, min(Int64(deviceInterval * 1e6) / Int64(samples), Int64(UInt32.max) / Int64(max(samples, 1))))
        options.seed = seed
        options.malformedShare = malformed
        if let credentials { options.credentials = try Self.readCredentials(credentials) }
        if provision {
            // Who logs in: each device, or a Sparkplug edge node (its device's readings are stored as `<edge node>.sensor`).
            let names = Emulator(options: options, url: url).devices.map(\.credentialID)
            let api = self.api ?? "http://\(settings.httpHost):\(settings.httpPort)"
            guard let token = adminToken ?? settings.adminTokens.first else {
                throw ValidationError("--provision needs an admin token: --admin-token, or the admin_tokens setting (TELEMETRY_ADMIN_TOKENS)")
            }
            options.credentials = try await Provisioning.provision(devices: names, sensors: sensors.map(\.name), api: api, token: token)
            print("provisioned \(names.count) devices through \(api)")
        }
        let emulator = Emulator(options: options, url: url)
        let interactive = isatty(STDOUT_FILENO) == 1
        print("emulating \(emulator.devices.count) devices (\(sensors.map(\.name).joined(separator: ", "))) at \(String(format: "%.1f", options.rate)) msg/s, \(samples) readings per message, QoS \(qos), to \(url)")
        let started = Date()
        let report = try emulator.run { snapshot in
            let line = String(format: "%6.1fs sent %d msgs (%d readings), acked %d, in flight %d, %.0f msg/s",
                              snapshot.elapsed, snapshot.sentMessages, snapshot.sentReadings, snapshot.ackedMessages, snapshot.inflight,
                              Double(snapshot.sentMessages) / max(snapshot.elapsed, 0.001))
            if interactive { print("\r" + line, terminator: "") } else { print(line) }
            fflush(nil)
        }
        if interactive { print("") }
        print(String(format: "done in %.1fs: sent %d messages (%d readings, %d malformed), acknowledged %d messages (%d readings), %.0f msg/s, %.0f readings/s",
                     report.elapsed, report.sentMessages, report.sentReadings, report.malformed, report.ackedMessages, report.ackedReadings,
                     Double(report.sentMessages) / report.elapsed, Double(report.sentReadings) / report.elapsed))
        if qos > 0 {
            print(String(format: "publish→ack latency: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms", report.latencyMillis.0, report.latencyMillis.1, report.latencyMillis.2))
        }
        guard verify else { return }
        let placement = DatabasePlacement(defaultURL: settings.databaseURL, bySensor: settings.sensorDatabaseURLs)
        // Only this run's readings: from the start of the minute its first frame's first sample fell in.
        let since = Int64((started.timeIntervalSince1970 - Double(options.sampleSpacing * Int64(samples)) / 1e6 - 1) * 1e6)
        let lines = try Verifier(placement: placement).verify(
            report: report, devices: emulator.devices, since: since, timeout: .milliseconds(Int64(verifyTimeout * 1000))
        ) { error in
            FileHandle.standardError.write(Data("verify: PostgreSQL is not answering, trying again for up to \(Int(verifyTimeout)) s (--verify-timeout): \(error)\n".utf8))
        }
        print("sensor          sent     stored   missing  duplicated")
        for line in lines {
            print(line.sensor.padding(toLength: 14, withPad: " ", startingAt: 0),
                  String(line.sent).leftPadded(8), String(line.stored).leftPadded(10), String(line.missing).leftPadded(9), String(line.duplicated).leftPadded(11))
        }
        let failed = lines.contains { $0.missing > 0 || $0.duplicated > 0 }
        print(failed ? "verify: FAILED" : "verify: OK, every acknowledged reading stored exactly once")
        if failed { throw ExitCode(1) }
    }

    private func emulatorDeviceCount(_ sensors: [SensorType]) -> Int { self.profile == nil ? devices * sensors.count : devices }

    /// device,password per line (a header line `device,...` and blank lines are skipped).
    static func readCredentials(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("--credentials: cannot read \(path)") }
        var credentials: [String: String] = [:]
        for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if fields.first == "device" && number == 0 { continue }
            guard fields.count == 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw ValidationError("--credentials: line \(number + 1) of \(path) is not device,password")
            }
            credentials[fields[0]] = fields[1]
        }
        return credentials
    }

    private func loadOrExit<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            FileHandle.standardError.write(Data("telemetry emulate: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
