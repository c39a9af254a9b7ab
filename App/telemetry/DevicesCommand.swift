import ArgumentParser
import DeviceIdentity
import Foundation
import SensorModel
import Settings
import StorageCore

/// `telemetry devices`: device credentials from the command line, straight in PostgreSQL (database_url),
/// the same operations as the REST routes. Passwords are printed once, as `device,password`.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Issues, rotates, revokes and lists device credentials.",
        subcommands: [Add.self, Rotate.self, Revoke.self, List.self, Import.self, Cert.self])

    /// The catalog and a connection with the credentials table in place.
    static func open(_ command: String) async throws -> (Catalog, StoreConnection) {
        let (_, catalog, connection) = try await openWithSettings(command)
        return (catalog, connection)
    }

    static func openWithSettings(_ command: String) async throws -> (PlatformSettings, Catalog, StoreConnection) {
        let (platform, catalog) = try await Startup.settings("devices \(command)") { platform in
            try Catalog.load(directory: platform.catalogDirectory)
        }
        let connection = try StoreConnection(url: platform.databaseURL)
        try DeviceCredentials.prepare(on: connection)
        return (platform, catalog, connection)
    }

    static func check(_ device: String, _ sensors: [String]?, _ catalog: Catalog, what: String = "device") throws {
        do { try DeviceCredentials.validate(device: device, sensors: sensors, catalog: catalog) } catch {
            throw ValidationError("\(error.code == "invalid_sensors" ? "--sensor" : what) \(error.message)")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Creates a device's credential and prints its password; refuses a device that has one (rotate it).")
        @Argument(help: "The device id (its MQTT username).") var device: String
        @Option(name: .long, help: "A sensor type it may publish as; repeat for several (default: all).") var sensor: [String] = []

        func run() async throws {
            let (catalog, connection) = try await DevicesCommand.open("add")
            let sensors = sensor.isEmpty ? nil : sensor
            try DevicesCommand.check(device, sensors, catalog)
            guard try DeviceCredentials.get(device: device, on: connection) == nil else {
                throw CommandFailure("device \(device) already has a credential; `telemetry devices rotate \(device)` gives it a new password")
            }
            // Not rotating: one added meanwhile is refused too, never silently given a new password.
            let issued = try DeviceCredentials.issue(device: device, sensors: SensorRights(sensors), rotating: false, on: connection)
            print("\(device),\(issued.password)")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Gives a device a new password (the old one stops working) and prints it.")
        @Argument(help: "The device id.") var device: String

        func run() async throws {
            let (_, connection) = try await DevicesCommand.open("rotate")
            guard try DeviceCredentials.get(device: device, on: connection) != nil else {
                throw CommandFailure("device \(device) has no credential (add it first: telemetry devices add \(device))")
            }
            print("\(device),\(try DeviceCredentials.issue(device: device, sensors: .unchanged, on: connection).password)")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revokes a device's credential: it is disconnected and cannot connect again.")
        @Argument(help: "The device id.") var device: String

        func run() async throws {
            let (_, connection) = try await DevicesCommand.open("revoke")
            guard try DeviceCredentials.revoke(device: device, on: connection) else { throw CommandFailure("device \(device) has no credential") }
            // broker-sync takes it out of the broker's files and signals the broker (docs/identity.md).
            print("revoked \(device): its password and certificates no longer work; a connected session is closed within 5 s (broker-sync must run)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the devices that have credentials (never a password).")
        @Flag(name: .long, help: "One JSON object per line: device, sensors (null: every type), created, rotated.") var json = false

        func run() async throws {
            let (_, connection) = try await DevicesCommand.open("list")
            var cursor: String?
            if !json { print("DEVICE\tSENSOR TYPES\tCREATED\tROTATED") }
            repeat {
                let page = try DeviceCredentials.list(limit: 10_000, after: cursor, on: connection)
                for credential in page {
                    let created = Self.time(credential.created), rotated = Self.time(credential.rotated)
                    if json {
                        let sensors = credential.sensors.map { "[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? "null"
                        print(#"{"device":"\#(credential.device)","sensors":\#(sensors),"created":"\#(created)","rotated":"\#(rotated)"}"#)
                    } else {
                        print("\(credential.device)\t\(credential.sensors?.joined(separator: ",") ?? "all")\t\(created)\t\(rotated)")
                    }
                }
                cursor = page.count == 10_000 ? page.last?.device : nil
            } while cursor != nil
        }

        /// µs since the epoch as RFC 3339 UTC, seconds.
        static func time(_ micros: Int64) -> String {
            Date(timeIntervalSince1970: Double(micros) / 1e6).formatted(.iso8601)
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Provisions every device of a CSV file (device[,sensor;sensor...] per line), all or nothing; prints device,password lines.",
            discussion: "A device that has a credential gets a new password; without sensor types on its line it keeps its own.")
        @Argument(help: "The CSV file ('-' for standard input).") var file: String

        func run() async throws {
            let (catalog, connection) = try await DevicesCommand.open("import")
            let text = file == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : try String(contentsOfFile: file, encoding: .utf8)
            var entries: [(device: String, sensors: SensorRights)] = []
            for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
                let fields = line.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard let device = fields.first, !device.isEmpty, !(number == 0 && device == "device") else { continue }
                let sensors = fields.count > 1 && !fields[1].isEmpty ? fields[1].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) } : nil
                try DevicesCommand.check(device, sensors, catalog, what: "line \(number + 1): device")
                entries.append((device, sensors.map(SensorRights.only) ?? .unchanged))
            }
            guard entries.count <= DeviceCredentials.maxBatch else { throw ValidationError("at most \(DeviceCredentials.maxBatch) devices per import") }
            for issued in try DeviceCredentials.issue(entries, on: connection) { print("\(issued.credential.device),\(issued.password)") }
        }
    }

    struct Cert: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issues a client certificate with CN = the device id from a CA (openssl), for the broker's certificate listener.",
            discussion: """
                Only for a device that has a credential; revoking the credential revokes its certificates (broker-sync puts them \
                in the listener's CRL). Writes <out>/<device>.key (the private key, mode 600) and <out>/<device>.crt; prints their paths.
                """)
        @Argument(help: "The device id (the certificate's CN, its MQTT username on a use_identity_as_username listener).") var device: String
        @Option(name: .long, help: "The CA certificate (default: the device_ca_file setting).") var caCert: String?
        @Option(name: .long, help: "The CA's private key (default: the device_ca_key_file setting).") var caKey: String?
        @Option(name: .long, help: "Where to write the key and the certificate.") var out = ".local/tls/devices"
        @Option(name: .long, help: "Days the certificate is valid.") var days = 825

        func validate() throws {
            guard Topic.isValidDevice(device) else { throw ValidationError("device must be \(Topic.deviceRule)") }
            guard days > 0 else { throw ValidationError("--days must be positive") }
        }

        func run() async throws {
            let (platform, _, connection) = try await DevicesCommand.openWithSettings("cert")
            do {
                let files = try DeviceCertificates.issue(
                    device: device, caCertificate: caCert ?? platform.deviceCAFile, caKey: caKey ?? platform.deviceCAKeyFile,
                    directory: out, days: days, on: connection)
                print("\(files.key)\n\(files.certificate)")
            } catch let error as CredentialError {
                throw CommandFailure(error.message)
            } catch let error as StoreError {
                throw CommandFailure("\(error)")
            }
        }
    }
}
