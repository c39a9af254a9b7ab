import Foundation
import SensorModel

/// mosquitto's `password_file`s and `acl_file`s as the platform's credentials make them, one pair for the
/// devices' listeners and one for the services' (mosquitto with `per_listener_settings true`): a device may
/// publish only under its own id (and only as its allowed sensor types) and logs in only where devices do;
/// each ingest service may only read its sensor type's topics, the catch-all every `telemetry/` topic, and
/// logs in only on the services' listener, which takes no device: a device can neither take a service's
/// session (its client id) nor use a service's password where devices connect. mosquitto 2.0 re-reads every
/// listener's files on SIGHUP and disconnects connected clients that no longer pass.
///
/// Devices get their rights from `pattern` lines (`%u` is the MQTT username, which is the device id), not
/// from a `user` block each: mosquitto 2.0.11 looks a `user` block up by walking every block read so far,
/// for each line, so a block per device made 100,000 devices take 261 s to load (10,000: 1.3 s). Only what
/// the patterns must not grant gets a block: the sensor types a restricted device is not allowed (`topic
/// deny`, which mosquitto checks before anything else).
public struct BrokerFiles: Sendable, Equatable {
    /// A platform service's broker account: what it reads, and the alert topics it publishes to.
    public struct ServiceAccount: Sendable, Equatable {
        public var username: String
        public var passwordHash: String
        public var reads: [String]
        public var writes: [String] = []
    }

    /// The devices' listeners' files.
    public var passwords: String
    public var acl: String
    /// The services' listener's files.
    public var servicePasswords: String
    public var serviceACL: String

    /// The service accounts of a catalog: `ingest-<sensor>` reads `telemetry/<sensor>/#`, its catalog
    /// sources' topics and the devices' status topics, and publishes its alerts on `alerts/<sensor>/#`;
    /// `ingest-unrouted` reads `telemetry/#` and every alert; all with the one service password's hash.
    public static func serviceAccounts(catalog: Catalog, passwordHash: String) -> [ServiceAccount] {
        catalog.sensors.map { sensor in
            ServiceAccount(username: "ingest-\(sensor.name)", passwordHash: passwordHash,
                           reads: ["telemetry/\(sensor.name)/#"] + sensor.sources.flatMap(\.filters) + StatusTopics.filters,
                           // Sparkplug B: the rebirth command a sensor type's service sends an edge node.
                           writes: ["alerts/\(sensor.name)/#"] + sensor.sources.filter { $0.format == .sparkplug }.map { "\($0.topic)/NCMD/+" })
        } + [ServiceAccount(username: "ingest-unrouted", passwordHash: passwordHash, reads: ["telemetry/#", "alerts/#"])]
    }

    /// Every sensor type of a catalog with its source topic patterns (`tele/{device}/SENSOR`): a device may
    /// publish to them with `{device}` its own id. Not to a network server's (a source with an envelope):
    /// those uplinks reach the broker through a bridge to the network server's own (docs/devices.md).
    /// A Sparkplug B group's edge node publishes as itself (the edge node id is its device id) for its own
    /// metrics and its devices'.
    public static func sourcePatterns(catalog: Catalog) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: catalog.sensors.map { sensor in
            (sensor.name, sensor.sources.filter { $0.envelope == nil }.flatMap { source in
                source.format == .sparkplug ? ["\(source.topic)/+/{device}", "\(source.topic)/+/{device}/+"] : [source.topic]
            })
        })
    }

    /// Whether a device id is taken by the platform's own broker accounts and their client ids (services,
    /// broker-sync's probe: a device's client id is its id, and mosquitto's client ids are one namespace
    /// across listeners), or is `telemetry`: a source pattern that starts with `{device}` would then let it
    /// write `telemetry/…`. In any case: `INGEST-temperature` would pass for the service's account to a reader.
    public static func isReserved(device: String) -> Bool {
        let id = device.lowercased()
        return id.hasPrefix("ingest-") || id.hasPrefix(BrokerSync.probeUser) || id == "telemetry"
    }

    /// - Parameter sources: `sourcePatterns(catalog:)`: every sensor type (a restricted device is denied
    ///   the others, and every source topic that feeds one of them) and the topics devices with firmware
    ///   of their own publish to.
    public init(devices: [DeviceCredential], services: [ServiceAccount], sources: [String: [String]]) {
        let sensors = sources.keys.sorted()
        let sourceTopics = Set(sources.values.joined()).sorted()
        func named(_ topic: String, _ name: String) -> String { topic.replacingOccurrences(of: TopicPattern.deviceLevel, with: name) }

        // The password files hold only user:hash lines (mosquitto_passwd writes no comments either).
        var servicePasswords = ""
        var serviceACL = "# Generated by `telemetry broker-sync`; edits are overwritten. Platform services: read, and publish alerts only.\n"
        for service in services {
            servicePasswords += "\(service.username):\(service.passwordHash)\n"
            guard !service.reads.isEmpty || !service.writes.isEmpty else { continue }
            serviceACL += "user \(service.username)\n"
            for filter in service.reads { serviceACL += "topic read \(filter)\n" }
            for filter in service.writes { serviceACL += "topic write \(filter)\n" }
        }
        var passwords = ""
        var acl = "# Generated by `telemetry broker-sync` from PostgreSQL's device_credentials; edits are overwritten.\n"
        passwords.reserveCapacity(120 * devices.count)
        acl += "# Devices: publish under their own id (%u, the MQTT username) only, and read nothing.\n"
        // Status topics (StatusTopics; telemetry/status/{device} is among the first two) are every device's,
        // whatever sensor types it may publish.
        let statusTopics = StatusTopics.topics.filter { !$0.hasPrefix("telemetry/") }
        for topic in ["telemetry/+/{device}", "telemetry/+/{device}/+"] + sourceTopics + statusTopics { acl += "pattern write \(named(topic, "%u"))\n" }
        // A source topic feeds every sensor type that maps it (Tasmota's SENSOR: temperature, humidity and
        // pressure alike), and the broker cannot split a message: only a device allowed all of them may write it.
        var typesBySource: [String: Set<String>] = [:]
        for (sensor, topics) in sources { for topic in topics { typesBySource[topic, default: []].insert(sensor) } }
        acl += "# Devices allowed only some sensor types: denied the others (a deny takes both levels in one line: `/#`\n"
        acl += "# matches its parent too), and each source topic that feeds one of those.\n"
        for device in devices {
            passwords += "\(device.device):\(device.passwordHash)\n"
            guard let allowed = device.sensors.map(Set.init) else { continue }
            let denied = sensors.filter { !allowed.contains($0) }
            guard !denied.isEmpty else { continue }
            acl += "user \(device.device)\n"
            for topic in denied.map({ "telemetry/\($0)/{device}/#" }) + sourceTopics.filter({ !typesBySource[$0, default: []].isSubset(of: allowed) }) {
                acl += "topic deny \(named(topic, device.device))\n"
            }
        }
        self.passwords = passwords
        self.acl = acl
        self.servicePasswords = servicePasswords
        self.serviceACL = serviceACL
    }

    /// Writes every file, each through a temporary file renamed over the old one, so the broker never
    /// reads half a file.
    public func write(to paths: BrokerSync.Paths) throws {
        try Self.replace(paths.passwordFile, with: passwords)
        try Self.replace(paths.aclFile, with: acl)
        try Self.replace(paths.servicePasswordFile, with: servicePasswords)
        try Self.replace(paths.serviceACLFile, with: serviceACL)
    }

    static func replace(_ path: String, with text: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o640]) else {
            throw CredentialError(code: "write_failed", message: "cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CredentialError(code: "write_failed", message: "cannot replace \(path): \(reason)")
        }
    }
}
