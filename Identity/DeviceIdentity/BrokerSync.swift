import Foundation
import Logging
import Postgres
import SensorModel
import StorageCore

/// Keeps mosquitto's password and ACL files equal to `device_credentials`: writes them at start and
/// after every committed change (one LISTEN connection, owned by one thread; changes within
/// `settle` are written together), then sends the broker SIGHUP. mosquitto 2.0 re-reads both files
/// on SIGHUP and disconnects connected clients that no longer authenticate, so a revocation reaches live
/// sessions in about the time one write and one reload take. Runs beside the broker (its files, its pid).
///
/// mosquitto 2.0.11 loses a SIGHUP that arrives while it is still reloading (it clears its reload flag
/// after reading the files), which `scripts/bench-credentials.sh` hit at 100,000 devices: the last change
/// never reached the broker. So with a `probe`, each write carries a login of its own (`probeUser` with a
/// new password, allowed nothing by the ACL) and the sync waits until the broker accepts it, signalling
/// again while it does not: a change is done when the broker has it, and no SIGHUP lands in a reload.
///
/// Certificates: with a `revocationList`, each write also signs the CRL of the certificate listener. A
/// reload does not end a TLS session whose certificate was revoked, so once the broker has the files the
/// probe account connects with the client id of each device whose certificate was revoked since the last
/// write (a device's client id is its id on the devices' listeners): the broker closes the device's
/// connection, and the CRL refuses it when it comes back.
public final class BrokerSync: @unchecked Sendable {
    /// "Does the broker accept this user name and password, with this client id, now?" (the caller's MQTT
    /// client, on the services' listener; it disconnects again at once).
    public typealias Probe = @Sendable (_ username: String, _ password: String, _ clientID: String) -> Bool
    /// `Topic.isReservedDevice` keeps devices off it.
    public static let probeUser = "broker-sync-probe"

    public struct Paths: Sendable {
        /// The devices' listeners' `password_file` and `acl_file`.
        public var passwordFile: String
        public var aclFile: String
        /// The services' listener's.
        public var servicePasswordFile: String
        public var serviceACLFile: String
        /// mosquitto's `pid_file`: where the SIGHUP goes.
        public var brokerPIDFile: String
        /// The certificate listener's `crlfile`; nil: no certificate listener.
        public var revocationList: RevocationList?

        public init(passwordFile: String, aclFile: String, servicePasswordFile: String, serviceACLFile: String, brokerPIDFile: String,
                    revocationList: RevocationList? = nil) {
            self.passwordFile = passwordFile
            self.aclFile = aclFile
            self.servicePasswordFile = servicePasswordFile
            self.serviceACLFile = serviceACLFile
            self.brokerPIDFile = brokerPIDFile
            self.revocationList = revocationList
        }
    }

    let url: String
    let paths: Paths
    let services: [BrokerFiles.ServiceAccount]
    /// Every sensor type with its source topic patterns (`BrokerFiles.sourcePatterns`).
    let sources: [String: [String]]
    let logger: Logger
    let settle: TimeInterval
    let probe: Probe?
    private let state = NSLock()
    private var stopped = false
    private var ready = false
    /// The revoked certificates whose devices' sessions were closed.
    private var closed = Set<String>()

    public init(
        url: String, paths: Paths, services: [BrokerFiles.ServiceAccount], sources: [String: [String]], logger: Logger,
        settle: TimeInterval = 0.05, probe: Probe? = nil
    ) {
        self.sources = sources
        self.url = url
        self.probe = probe
        self.paths = paths
        self.services = services
        self.logger = logger
        self.settle = settle
    }

    /// Whether the broker has taken the files as of the last change notified: a credential issued before
    /// that works (a `/readyz` for `scripts/run-local.sh`, which says ready only then).
    public var isReady: Bool { state.withLock { ready } }

    private func setReady(_ value: Bool) { state.withLock { ready = value } }

    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "broker-sync"
        thread.start()
    }

    public func stop() { state.withLock { stopped = true } }

    private var isStopped: Bool { state.withLock { stopped } }

    private func run() {
        var backoff = 0.1
        while !isStopped {
            do throws(StoreError) {
                let connection = try StoreConnection(url: url)
                try DeviceCredentials.prepare(on: connection)
                try StoreError.wrap { () throws(PGError) in
                    _ = try connection.pg.execute("LISTEN \(DeviceCredentials.channel)")
                }
                backoff = 0.1
                try follow(connection)
            } catch {
                setReady(false)
                logger.warning("broker sync: \(error); retrying in \(backoff) s")
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }

    /// Writes the files now (changes may have been missed while not listening), then after every change.
    /// A write the broker did not take (no broker yet: it starts after broker-sync; or it did not reload) is
    /// tried again within 2 s, not only at the next change: until then a credential just issued would be
    /// refused, and broker-sync is not ready.
    private func follow(_ connection: StoreConnection) throws(StoreError) {
        var due: Date? = Date()
        var failures = 0
        while !isStopped {
            if let time = due, time <= Date() {
                // This write covers every change notified so far.
                _ = try StoreError.wrap { () throws(PGError) in try connection.pg.notifications() }
                if try sync(on: connection, reportFailure: failures % 30 == 0) {
                    due = nil
                    failures = 0
                } else {
                    failures += 1
                    due = Date().addingTimeInterval(min(0.1 * Double(1 << min(failures - 1, 5)), 2))
                }
                continue
            }
            // A change notified while the last sync's queries ran is already in libpq's hands.
            let timeout = due.map { max(0, $0.timeIntervalSinceNow) } ?? 0.5
            let changed = try StoreError.wrap { () throws(PGError) -> Bool in !(try connection.pg.nextNotifications(timeout: timeout)).isEmpty }
            if changed {
                // Changes within `settle` are written together.
                setReady(false)
                due = min(due ?? .distantFuture, Date().addingTimeInterval(settle))
            }
        }
    }

    /// Writes the files and has the broker take them; false when it did not (logged when `reportFailure`).
    private func sync(on connection: StoreConnection, reportFailure: Bool) throws(StoreError) -> Bool {
        let started = Date()
        let devices = try DeviceCredentials.all(on: connection)
        let revoked = paths.revocationList == nil ? [] : try DeviceCertificates.revoked(on: connection)
        let probePassword: String
        do {
            var accounts = services
            probePassword = try PasswordHash.randomPassword()
            if probe != nil {
                accounts.append(.init(username: Self.probeUser, passwordHash: try PasswordHash(password: probePassword).description, reads: []))
            }
            // The CRL first: the broker does not start without it, and the services' ACL, written last, is
            // what scripts wait for before they start it.
            try paths.revocationList?.write(revoked)
            try BrokerFiles(devices: devices, services: accounts, sources: sources).write(to: paths)
            try signalBroker()
            if let probe { try confirm(probe, password: probePassword) }
        } catch {
            // The table is right; the files are not, or the broker has not taken them: tried again shortly.
            if reportFailure { logger.error("broker sync: \(error); trying again") }
            return false
        }
        if let probe { disconnectRevoked(revoked, probe: probe, password: probePassword) }
        setReady(true)
        logger.info("broker files written: \(devices.count) devices, \(services.count) services, \(revoked.count) revoked certificates; \(probe == nil ? "broker signalled" : "taken by the broker") \(String(format: "%.3f", Date().timeIntervalSince(started))) s after the change")
        return true
    }

    /// Closes the live sessions of devices whose certificates were revoked since the last write: the
    /// probe account takes over each one's client id, and leaves (a connection each: a mass revocation of
    /// many certificates at once takes as many). Also when the device has a credential again by now (revoked
    /// and provisioned at once): the revoked certificate's session must end; a password session of the
    /// device is cut once and reconnects.
    private func disconnectRevoked(_ revoked: [DeviceCertificates.Revoked], probe: Probe, password: String) {
        let hourAgo = Int64((Date().timeIntervalSince1970 - 3600) * 1_000_000)
        // Those of the last hour only: revoked while broker-sync was away (a restart), not every one the CRL
        // lists (a session of a certificate revoked earlier was closed then, or by a broker restart since).
        let due = revoked.filter { !closed.contains($0.serial) && $0.revokedMicros > hourAgo }
        closed = Set(due.map(\.serial)).union(closed.intersection(revoked.map(\.serial)))
        for device in Set(due.map(\.device)).sorted() where !probe(Self.probeUser, password, device) {
            logger.warning("broker sync: could not close \(device)'s session (its certificate was revoked)")
        }
    }

    /// Waits until the broker takes this write's probe login, signalling again after 3 s, then after twice
    /// as long each time (a SIGHUP lost in a reload; a long reload is not restarted over and over), for at
    /// most `limit`.
    private func confirm(_ probe: Probe, password: String, limit: TimeInterval = 600) throws {
        let started = Date()
        var signalled = started
        var resignal: TimeInterval = 3
        let clientID = "\(Self.probeUser)-\(getpid())"
        while !probe(Self.probeUser, password, clientID) {
            guard !isStopped else { return }
            let now = Date()
            guard now.timeIntervalSince(started) < limit else {
                throw CredentialError(code: "no_reload", message: "the broker did not take the files within \(Int(limit)) s")
            }
            if now.timeIntervalSince(signalled) >= resignal {
                logger.notice("broker sync: the broker has not taken the files after \(String(format: "%.1f", now.timeIntervalSince(started))) s; signalling again")
                try signalBroker()
                signalled = now
                resignal *= 2
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Seconds since process `pid` started, from /proc (nil where it cannot be read).
    static func processAge(_ pid: Int32) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let uptime = (try? String(contentsOfFile: "/proc/uptime", encoding: .utf8))?.split(separator: " ").first.flatMap({ Double($0) }),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        return uptime - ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private func signalBroker() throws {
        guard let text = try? String(contentsOfFile: paths.brokerPIDFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else {
            throw CredentialError(code: "no_broker", message: "no broker pid in \(paths.brokerPIDFile)")
        }
        // A broker started less than a second ago may not handle SIGHUP yet (mosquitto writes its pid file
        // before it sets up its signal handlers, and SIGHUP's default ends the process: seen in CI, where
        // run-local's broker died at start). It read the files as it started; should it have read an
        // older version, the probe fails and `confirm` signals again after 3 s.
        if let age = Self.processAge(pid), age < 1 { return }
        guard kill(pid, SIGHUP) == 0 else {
            throw CredentialError(code: "no_broker", message: "cannot signal broker pid \(pid): \(String(cString: strerror(errno)))")
        }
    }
}
