import Foundation
import Logging
import Postgres
import SensorModel

/// Keeps mosquitto's password and ACL files equal to `device_credentials`: writes them at start and
/// after every committed change (one LISTEN connection, owned by one thread; changes within
/// `settle` are written together), then sends the broker SIGHUP. mosquitto 2.0 re-reads both files
/// on SIGHUP and disconnects connected clients that no longer authenticate, so a revocation reaches live
/// sessions in about the time one write and one reload take. Runs beside the broker (its files, its pid).
public final class BrokerSync: @unchecked Sendable {
    public struct Paths: Sendable {
        public var passwordFile: String
        public var aclFile: String
        /// mosquitto's `pid_file`: where the SIGHUP goes.
        public var brokerPIDFile: String

        public init(passwordFile: String, aclFile: String, brokerPIDFile: String) {
            self.passwordFile = passwordFile
            self.aclFile = aclFile
            self.brokerPIDFile = brokerPIDFile
        }
    }

    let url: String
    let paths: Paths
    let services: [BrokerFiles.ServiceAccount]
    /// The catalog's source topic patterns per sensor type (`BrokerFiles.sourcePatterns`).
    let sources: [String: [String]]
    let logger: Logger
    let settle: TimeInterval
    private let state = NSCondition()
    private var stopped = false
    private var reloads = 0

    public init(
        url: String, paths: Paths, services: [BrokerFiles.ServiceAccount], sources: [String: [String]] = [:], logger: Logger, settle: TimeInterval = 0.05
    ) {
        self.sources = sources
        self.url = url
        self.paths = paths
        self.services = services
        self.logger = logger
        self.settle = settle
    }

    /// How many times the files were written and the broker told (0 until the first write).
    public var reloadCount: Int { state.withLock { reloads } }

    /// Waits until the files were written at least `count` times; false at the deadline.
    public func waitForReloads(_ count: Int, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        return state.withLock {
            while reloads < count { if !state.wait(until: deadline) { return false } }
            return true
        }
    }

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
                // Changes may have been missed while not listening: write everything now.
                try sync(on: connection)
                backoff = 0.1
                while !isStopped {
                    let changed = try StoreError.wrap { () throws(PGError) -> Bool in
                        guard try connection.pg.waitForInput(timeout: 0.5) else { return false }
                        return !(try connection.pg.notifications()).isEmpty
                    }
                    guard changed else { continue }
                    Thread.sleep(forTimeInterval: settle)
                    _ = try StoreError.wrap { () throws(PGError) in try connection.pg.notifications() }
                    try sync(on: connection)
                }
            } catch {
                logger.warning("broker sync: \(error); retrying in \(backoff) s")
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }

    private func sync(on connection: StoreConnection) throws(StoreError) {
        let started = Date()
        let devices = try DeviceCredentials.all(on: connection)
        do {
            try BrokerFiles(devices: devices, services: services, sources: sources).write(passwordFile: paths.passwordFile, aclFile: paths.aclFile)
            try signalBroker()
        } catch {
            // The table is right; the files are not: the next change or restart tries again.
            logger.error("broker sync: \(error)")
            return
        }
        state.withLock {
            reloads += 1
            state.broadcast()
        }
        logger.info("broker files written: \(devices.count) devices, \(services.count) services, in \(String(format: "%.3f", Date().timeIntervalSince(started))) s; broker reloading")
    }

    private func signalBroker() throws {
        guard let text = try? String(contentsOfFile: paths.brokerPIDFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else {
            throw CredentialError(code: "no_broker", message: "no broker pid in \(paths.brokerPIDFile)")
        }
        guard kill(pid, SIGHUP) == 0 else {
            throw CredentialError(code: "no_broker", message: "cannot signal broker pid \(pid): \(String(cString: strerror(errno)))")
        }
    }
}
