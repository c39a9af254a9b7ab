import ArgumentParser
import DeviceIdentity
import Foundation
import Logging
import MQTT
import SensorModel
import ServiceLifecycle
import Settings

/// `telemetry broker-sync`: runs beside mosquitto and keeps its password and ACL files equal to the
/// device credentials in PostgreSQL, sending it SIGHUP after each change (docs/identity.md).
struct BrokerSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker-sync",
        abstract: "Keeps mosquitto's password_file and acl_file equal to the device credentials (SIGHUP after each change).")

    func run() async throws {
        let (platform, (catalog, password, broker)) = try await Startup.settings("broker-sync") { platform in
            guard let password = platform.servicePassword else {
                throw SettingsError(setting: platform.source("service_password"), message: "must be set: it is the password of the services' broker accounts")
            }
            var broker: MQTTURL
            do { broker = try MQTTURL(parsing: platform.mqttURL) } catch { throw SettingsError(setting: platform.source("mqtt_url"), message: "\(error)") }
            broker.caFile = platform.mqttCAFile
            return (try Catalog.load(directory: platform.catalogDirectory), password, broker)
        }
        let registry = Startup.bootstrap(level: platform.logLevel)
        let logger = Logger(label: "telemetry-broker-sync")
        let services = BrokerFiles.serviceAccounts(catalog: catalog, passwordHash: try PasswordHash(password: password).description)
        let paths = BrokerSync.Paths(
            passwordFile: platform.brokerPasswordFile, aclFile: platform.brokerACLFile, servicePasswordFile: platform.brokerServicePasswordFile,
            serviceACLFile: platform.brokerServiceACLFile, brokerPIDFile: platform.brokerPIDFile,
            revocationList: platform.brokerCRLFile.map { RevocationList(file: $0, caCertificate: platform.deviceCAFile, caKey: platform.deviceCAKeyFile) })
        // The broker at mqtt_url confirms each write: a login that only this write's files allow.
        let sync = BrokerSync(
            url: platform.databaseURL, paths: paths, services: services, sources: BrokerFiles.sourcePatterns(catalog: catalog), logger: logger
        ) { username, password, clientID in
            var url = broker
            url.username = username
            url.password = password
            guard let client = try? MQTTClient(url: url, options: .init(clientID: clientID)) else { return false }
            defer { client.stop() }
            guard (try? client.start()) != nil else { return false }
            return client.waitUntilReady(timeout: .milliseconds(500))
        }
        var group: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: BrokerSyncService(sync: sync))]
        // /readyz: the broker has the credentials as of the last change (scripts/run-local.sh waits for it).
        if let port = platform.metricsPort {
            group.append(.init(service: HealthServer.make(
                host: platform.metricsHost, port: port, tokens: try platform.metricsTokens(), ready: { sync.isReady }, registry: registry, logger: logger)))
        }
        try await ServiceGroup(configuration: .init(services: group, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
    }
}

