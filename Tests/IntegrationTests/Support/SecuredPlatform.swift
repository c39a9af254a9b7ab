import Foundation
import TestSupport
import MQTT
import Postgres
import StorageCore

/// The platform with device identity on, as `scripts/run-local.sh` runs it: a private mosquitto that allows
/// no anonymous client and checks the password and ACL files `telemetry broker-sync` keeps from PostgreSQL,
/// per listener — the services' (`broker.port`) takes only the service accounts, the devices' (`devicePort`,
/// plaintext on loopback here; TLS with `tls`) only devices, whose client id is their username —
/// `telemetry ingest` on its read-only service accounts, and `telemetry query` with a read token and an admin token.
final class SecuredPlatform: @unchecked Sendable {
    static let readToken = "read-token-1"
    static let adminToken = "admin-token-1"
    static let servicePassword = "service-password-1"

    let servers: TestServers
    let catalog: TestCatalog
    let database: String
    let files: String
    let broker: PrivateBroker
    private(set) var sync: ServiceProcess
    private(set) var ingest: ServiceProcess
    private let syncEnvironment: [String: String]
    private let journal: String
    let query: ServiceProcess
    let queryPort: Int
    /// The devices' plaintext listener.
    let devicePort: Int
    /// broker-sync's /readyz.
    let syncHealthPort: Int
    /// With `tls`: a listener with TLS (password login), and one where a client certificate signed by the
    /// CA is the identity (its CN the username); the CA and the broker's certificate are in `files`.
    let tlsPort: Int?
    let certificatePort: Int?

    /// Starts the platform on a thread of its own: its start waits seconds for the services, and a test's wait
    /// must not hold one of the cooperative pool's threads (two cores, two threads) from the other tests.
    /// - Parameter databaseURL: a database of the test's own (a `PrivatePostgres` it restarts); else a new one on the shared server.
    static func start(sensors: [String], tls: Bool = false, databaseURL: String? = nil) async throws -> SecuredPlatform {
        try await Blocking.run("secured platform") { try SecuredPlatform(sensors: sensors, tls: tls, databaseURL: databaseURL) }
    }

    @available(*, noasync, message: "use SecuredPlatform.start: this waits for the services")
    private init(sensors: [String], tls: Bool, databaseURL: String?) throws {
        servers = try TestServers.require()
        catalog = try TestCatalog.make(from: sensors)
        database = try databaseURL ?? servers.makeDatabase()
        files = FileManager.default.temporaryDirectory.appendingPathComponent("broker-files-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        let brokerPort = try freeLoopbackPort()
        syncHealthPort = try freeLoopbackPort()
        // With TLS, the CA first: broker-sync signs the certificate listener's CRL with it.
        if tls { try Self.run(["/bin/bash", Self.repository + "/scripts/make-tls.sh", files]) }
        let certificateFiles = tls
            ? ["TELEMETRY_BROKER_CRL_FILE": files + "/crl.pem", "TELEMETRY_DEVICE_CA_FILE": files + "/ca.crt", "TELEMETRY_DEVICE_CA_KEY_FILE": files + "/ca.key"]
            : [:]
        syncEnvironment = certificateFiles.merging([
            "TELEMETRY_METRICS_PORT": String(syncHealthPort),
            "TELEMETRY_MQTT_URL": "mqtt://127.0.0.1:\(brokerPort)", "TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory, "TELEMETRY_SERVICE_PASSWORD": Self.servicePassword,
            "TELEMETRY_BROKER_PASSWORD_FILE": files + "/passwords", "TELEMETRY_BROKER_ACL_FILE": files + "/acl",
            "TELEMETRY_BROKER_SERVICE_PASSWORD_FILE": files + "/service-passwords", "TELEMETRY_BROKER_SERVICE_ACL_FILE": files + "/service-acl",
            "TELEMETRY_BROKER_PID_FILE": files + "/mosquitto.pid",
        ]) { $1 }
        sync = try ServiceProcess("telemetry", arguments: ["broker-sync"], environment: syncEnvironment, servers: servers)
        // mosquitto does not start without its password file: broker-sync writes it first.
        let files = self.files, sync = self.sync
        guard try blockingEventually(timeout: .seconds(30), { FileManager.default.fileExists(atPath: files + "/service-acl") || !sync.isRunning }), sync.isRunning else {
            throw TestSetupError(message: "broker-sync wrote no files: \(sync.output)")
        }
        // The services' listener first (the test broker's own), then the devices'.
        devicePort = try freeLoopbackPort()
        let devices = ["allow_anonymous false", "password_file \(files)/passwords", "acl_file \(files)/acl", "use_username_as_clientid true"]
        var config = ["per_listener_settings true", "allow_anonymous false", "password_file \(files)/service-passwords", "acl_file \(files)/service-acl",
                      "pid_file \(files)/mosquitto.pid", "listener \(devicePort) 127.0.0.1"] + devices
        if tls {
            let (tlsPort, certificatePort) = (try freeLoopbackPort(), try freeLoopbackPort())
            let certificates = ["cafile \(files)/ca.crt", "certfile \(files)/server.crt", "keyfile \(files)/server.key"]
            config += ["listener \(tlsPort) 127.0.0.1"] + certificates + devices
                + ["listener \(certificatePort) 127.0.0.1"] + certificates + devices
                + ["require_certificate true", "use_identity_as_username true", "crlfile \(files)/crl.pem"]
            self.tlsPort = tlsPort
            self.certificatePort = certificatePort
        } else {
            tlsPort = nil
            certificatePort = nil
        }
        broker = try PrivateBroker(port: brokerPort, extraConfig: config)
        journal = files + "/journal"
        ingest = try Self.startIngest(servers: servers, catalog: catalog, database: database, broker: broker, journal: journal)
        queryPort = try freeLoopbackPort()
        query = try ServiceProcess(
            "telemetry", arguments: ["query", "--port", String(queryPort)],
            environment: ["TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory,
                          "TELEMETRY_API_TOKENS": Self.readToken, "TELEMETRY_ADMIN_TOKENS": Self.adminToken],
            servers: servers)
        let port = queryPort, query = self.query
        guard try blockingEventually(timeout: .seconds(60), { httpStatus("http://127.0.0.1:\(port)/readyz") == 200 || !query.isRunning }), query.isRunning else {
            throw TestSetupError(message: "query service did not start: \(query.output)")
        }
    }

    private static func startIngest(servers: TestServers, catalog: TestCatalog, database: String, broker: PrivateBroker, journal: String) throws -> ServiceProcess {
        let ingest = try servers.startIngest(
            sensors: catalog.catalog.sensors.map(\.name), catalog: catalog, database: database, journal: journal,
            extra: ["TELEMETRY_MQTT_URL": broker.url, "TELEMETRY_SERVICE_PASSWORD": Self.servicePassword])
        let port = ingest.healthPort ?? 0
        guard try blockingEventually({ httpStatus("http://127.0.0.1:\(port)/readyz") == 200 || !ingest.isRunning }), ingest.isRunning else { throw TestSetupError(message: "ingest did not subscribe on its service account: \(ingest.output)") }
        return ingest
    }

    /// A new broker-sync process (it writes the files from the table again at start).
    func restartSync() async throws {
        try await Blocking.run("restart broker-sync") {
            _ = self.sync.stop()
            self.sync = try ServiceProcess("telemetry", arguments: ["broker-sync"], environment: self.syncEnvironment, servers: self.servers)
        }
    }

    /// A new ingest process on the same journal and service account; returns once it is subscribed again.
    func restartIngest() async throws {
        try await Blocking.run("restart ingest") {
            _ = self.ingest.stop()
            self.ingest = try Self.startIngest(servers: self.servers, catalog: self.catalog, database: self.database, broker: self.broker, journal: self.journal)
        }
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// Runs a command to its end; throws with its output when it fails.
    static func run(_ command: [String]) throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("command-\(UUID().uuidString.prefix(8)).log").path
        let pid = try ChildProcess.spawn(command, output: output)
        guard ChildProcess.wait(pid, timeout: .seconds(60)) == 0 else {
            throw TestSetupError(message: "\(command.joined(separator: " ")) failed: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
        }
    }

    /// `telemetry devices cert <device>` from the CA in `files`, into `files/devices`: its exit status
    /// (nil: it did not end within 30 s) and output.
    func issueCertificate(_ device: String) throws -> (status: Int32?, output: String) {
        let command = try ServiceProcess(
            "telemetry", arguments: ["devices", "cert", device, "--ca-cert", files + "/ca.crt", "--ca-key", files + "/ca.key", "--out", files + "/devices"],
            environment: ["TELEMETRY_DATABASE_URL": database, "TELEMETRY_CATALOG": catalog.directory], servers: servers)
        return (command.waitForExit(timeout: .seconds(30)), command.output)
    }

    /// A client over TLS on `port`, trusting `caFile`, with a password or a certificate; nil when refused.
    func connectTLS(port: Int, caFile: String, username: String? = nil, password: String? = nil, certificate: (String, String)? = nil) throws -> MQTTClient? {
        var url = MQTTURL(host: "127.0.0.1", port: Int32(port), username: username, password: password, tls: true, caFile: caFile)
        url.certificateFile = certificate?.0
        url.keyFile = certificate?.1
        return try open(url)
    }

    func stop() {
        query.stop()
        ingest.stop()
        sync.stop()
        broker.stopGracefully()
    }

    func sensor(_ prefix: String) -> String { catalog.sensor(prefix).name }

    /// A REST call: status, the JSON object of the body (empty when none), the body's text.
    func call(_ method: String, _ path: String, token: String? = adminToken, body: String? = nil) async throws -> (Int, [String: Any], String) {
        let headers = [token.map { ("Authorization", "Bearer \($0)") }, body.map { _ in ("Content-Type", "application/json") }].compactMap { $0 }
        let url = "http://127.0.0.1:\(queryPort)\(path)"
        guard let reply = await httpRequest(method, url, headers: headers, body: body.map { Array($0.utf8) }, timeout: 30) else {
            throw TestSetupError(message: "\(method) \(url): no answer within 30 s")
        }
        let object = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] ?? [:]
        return (reply.status, object, reply.text)
    }

    /// Issues (or rotates) a credential over REST; returns the password.
    func issue(_ device: String, sensors: [String]? = nil) async throws -> String {
        let body = sensors.map { "{\"sensors\": [\($0.map { "\"\($0)\"" }.joined(separator: ","))]}" }
        let (status, object, text) = try await call("PUT", "/v1/devices/\(device)/credentials", body: body)
        guard status == 200 || status == 201, let password = object["password"] as? String else {
            throw TestSetupError(message: "PUT credentials for \(device): \(status) \(text)")
        }
        return password
    }

    /// A client of the secured broker (the devices' listener unless `port` says otherwise); nil when the broker
    /// refused it (or did not answer) within `timeout`.
    func connect(_ username: String?, _ password: String?, port: Int? = nil, clientID: String? = nil, subscriptions: [String] = [],
                 timeout: Duration = .seconds(3), onMessage: (@Sendable (MQTTMessage) -> Void)? = nil) throws -> MQTTClient? {
        try open(MQTTURL(host: "127.0.0.1", port: Int32(port ?? devicePort), username: username, password: password),
                 clientID: clientID, subscriptions: subscriptions, timeout: timeout, onMessage: onMessage)
    }

    /// Connects to `url`; nil (the client stopped again) when it could not connect, or was not connected and
    /// subscribed within `timeout`.
    private func open(_ url: MQTTURL, clientID: String? = nil, subscriptions: [String] = [], timeout: Duration = .seconds(3),
                      onMessage: (@Sendable (MQTTMessage) -> Void)? = nil) throws -> MQTTClient? {
        let client = try MQTTClient(url: url, options: .init(clientID: clientID ?? "test-\(url.username ?? "anonymous")-\(UUID().uuidString.prefix(6))",
                                                              subscriptions: subscriptions), onMessage: onMessage)
        // A TLS handshake that fails can fail inside start() (libmosquitto connects there): not connected either.
        guard (try? client.start()) != nil, client.waitUntilReady(timeout: timeout) else {
            client.stop()
            return nil
        }
        return client
    }

    /// True when the broker refuses these credentials (a client it lets in is closed again).
    func refuses(port: Int? = nil, _ username: String?, _ password: String?, timeout: Duration = .seconds(3)) throws -> Bool {
        guard let client = try connect(username, password, port: port, timeout: timeout) else { return true }
        client.stop()
        return false
    }

    /// Waits (5 s at most) until the broker takes the credential: broker-sync wrote it and reloaded mosquitto.
    func connectOnceSynced(_ username: String, _ password: String, port: Int? = nil, subscriptions: [String] = [],
                           onMessage: (@Sendable (MQTTMessage) -> Void)? = nil) throws -> MQTTClient {
        let deadline = ContinuousClock.now.advanced(by: .seconds(5))
        repeat {
            if let client = try connect(username, password, port: port, subscriptions: subscriptions, timeout: .milliseconds(500), onMessage: onMessage) { return client }
        } while ContinuousClock.now < deadline
        throw TestSetupError(message: "\(username) could not connect within 5 s of getting its credential; broker-sync: \(sync.output.suffix(1500))")
    }

    /// Stored readings of `device` in `sensor`'s table.
    func storedCount(_ sensor: String, device: String) throws -> Int {
        let connection = try PGConnection(url: database)
        return Int(try connection.query("""
            SELECT count(*) FROM "\(sensor)" r JOIN devices d ON d.id = r.device_id WHERE d.sensor = $1 AND d.device = $2
            """, [sensor, device])[0, 0] ?? "0") ?? 0
    }
}
