import Foundation
import Postgres
import StorageCore
import TestSupport

/// Servers of one test's own, for tests that stop or restart them: the shared ones that scripts/test.sh
/// starts stay up for every other test running at the same time. Built from what scripts/test.sh
/// exports (TELEMETRY_TEST_MOSQUITTO_CONF / _BIN, TELEMETRY_TEST_PG_CTL).

/// A mosquitto with the test broker's config (persistence on) on a port and directory of its own.
final class PrivateBroker: @unchecked Sendable {
    let port: Int
    let directory: String
    let configPath: String
    let binary: String
    private var pid: pid_t = 0

    var url: String { "mqtt://127.0.0.1:\(port)" }

    /// `extraConfig`: lines added to the config (an own line for a key replaces the test broker's). Started on a
    /// thread of its own: the wait for its port must not hold a thread of the cooperative pool.
    static func make(port: Int? = nil, extraConfig: [String] = []) async throws -> PrivateBroker {
        try await Blocking.run("private broker") { try PrivateBroker(port: port, extraConfig: extraConfig) }
    }

    @available(*, noasync, message: "use PrivateBroker.make: this waits for the broker's port")
    init(port: Int? = nil, extraConfig: [String] = []) throws {
        let environment = ProcessInfo.processInfo.environment
        guard let base = environment["TELEMETRY_TEST_MOSQUITTO_CONF"], let binary = environment["TELEMETRY_TEST_MOSQUITTO_BIN"] else {
            throw TestSetupError(message: TestServers.howToRun + " (TELEMETRY_TEST_MOSQUITTO_CONF, TELEMETRY_TEST_MOSQUITTO_BIN)")
        }
        self.binary = binary
        self.port = try port ?? freeLoopbackPort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("broker-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let own = ["listener", "port", "bind_address", "persistence_location", "pid_file", "log_dest"]
            + extraConfig.compactMap { $0.split(separator: " ").first.map(String.init) }
        var lines = try String(contentsOfFile: base, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in !own.contains { line.hasPrefix($0 + " ") } }
        lines += ["listener \(self.port) 127.0.0.1", "persistence_location \(directory)/", "log_dest file \(directory)/mosquitto.log"] + extraConfig.map { Substring($0) }
        configPath = directory + "/mosquitto.conf"
        try lines.joined(separator: "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        try start()
    }

    /// A graceful stop and a start on the same port and persistence, on a thread of its own.
    func restart() async throws {
        try await Blocking.run("restart broker") {
            self.stopGracefully()
            try self.start()
        }
    }

    /// Starts it and waits until it accepts connections.
    @available(*, noasync, message: "this waits for the broker's port: await restart() instead")
    func start() throws {
        pid = try ChildProcess.spawn([binary, "-c", configPath], output: directory + "/stderr.log")
        guard try blockingEventually(timeout: .seconds(15), { acceptsConnections(port: port) }) else {
            throw TestSetupError(message: "private mosquitto on \(port) did not come up: \(log)")
        }
    }

    /// SIGTERM: a graceful stop, which writes the persistence file (mosquitto saves only on autosave and
    /// at shutdown). Returns once the process is gone.
    @available(*, noasync, message: "this waits up to 20 s for the broker to exit: await restart() instead")
    func stopGracefully() {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        if ChildProcess.wait(pid, timeout: .seconds(20)) == nil {
            kill(pid, SIGKILL)
            _ = ChildProcess.wait(pid, timeout: .seconds(5))
        }
        pid = 0
    }

    var log: String { (try? String(contentsOfFile: directory + "/mosquitto.log", encoding: .utf8)) ?? "" }

    deinit {
        if pid > 0 { kill(pid, SIGKILL); _ = ChildProcess.wait(pid, timeout: .seconds(5)) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A PostgreSQL cluster of its own (initdb, trust auth, loopback TCP only) that a test may stop and start.
final class PrivatePostgres: @unchecked Sendable {
    let port: Int
    let dataDirectory: String
    private let pgCtl: [String]

    var url: String { "postgresql://postgres@127.0.0.1:\(port)/telemetry" }

    /// A new primary; with `standbyOf`, a streaming standby of that one instead (a base backup of it, replicating).
    /// pg_ctl and initdb take seconds: they run on a thread of their own, not on one of the cooperative pool's
    /// two threads that every other test needs meanwhile.
    static func make(standbyOf primary: PrivatePostgres? = nil) async throws -> PrivatePostgres {
        try await Blocking.run("private postgres") { try PrivatePostgres(standbyOf: primary) }
    }

    @available(*, noasync, message: "use PrivatePostgres.make: this waits for initdb and pg_ctl")
    private init(standbyOf primary: PrivatePostgres?) throws {
        guard let command = ProcessInfo.processInfo.environment["TELEMETRY_TEST_PG_CTL"] else {
            throw TestSetupError(message: TestServers.howToRun + " (TELEMETRY_TEST_PG_CTL)")
        }
        pgCtl = command.split(separator: " ").map(String.init)
        port = try freeLoopbackPort()
        // Under /tmp: the postgres OS user (when the tests run as root) creates and owns it.
        dataDirectory = "/tmp/telemetry-test-pg-\(UUID().uuidString.prefix(8))"
        if let primary {
            // pg_basebackup beside pg_ctl, run as the same user; -R writes the standby's primary_conninfo.
            var backup = pgCtl
            backup[backup.count - 1] = URL(fileURLWithPath: backup[backup.count - 1]).deletingLastPathComponent().appendingPathComponent("pg_basebackup").path
            try Self.run(backup + ["-D", dataDirectory, "-R", "-X", "stream", "--checkpoint=fast", "-d", "host=127.0.0.1 port=\(primary.port) user=postgres"])
            try start()
            return
        }
        try run(["initdb", "-D", dataDirectory, "-s", "-o", "-U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8"])
        try start()
        let admin = try PGConnection(url: "postgresql://postgres@127.0.0.1:\(port)/postgres")
        try admin.execute("CREATE DATABASE telemetry")
    }

    func start() async throws { try await Blocking.run("pg_ctl start") { try self.start() } }

    @available(*, noasync, message: "pg_ctl waits: await start() instead")
    func start() throws {
        // On a standby, replay waits for its queries rather than cancel them (40001, "conflict with recovery"):
        // a test's query is never what a test of standbys is about.
        let options = "-p \(port) -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c timezone=UTC"
            + " -c hot_standby_feedback=on -c max_standby_streaming_delay=-1"
        try run(["-D", dataDirectory, "-l", dataDirectory + "/server.log", "-o", options, "-w", "-t", "60", "start"])
    }

    /// A fast shutdown: sessions are terminated (SQLSTATE 57P01), as in a restart for maintenance;
    /// `immediate`: every process quits at once, as when the host dies.
    func stop(immediate: Bool = false) async throws { try await Blocking.run("pg_ctl stop") { try self.stop(immediate: immediate) } }

    @available(*, noasync, message: "pg_ctl waits: await stop() instead")
    func stop(immediate: Bool = false) throws {
        try run(["-D", dataDirectory, "-m", immediate ? "immediate" : "fast", "-w", "-t", "60", "stop"])
    }

    /// A standby becomes a primary (what Patroni does to the synchronous standby in a failover).
    func promote() async throws { try await Blocking.run("pg_ctl promote") { try self.promote() } }

    @available(*, noasync, message: "pg_ctl waits: await promote() instead")
    func promote() throws {
        try run(["-D", dataDirectory, "-w", "-t", "60", "promote"])
    }

    /// Runs pg_ctl and waits for it.
    private func run(_ arguments: [String]) throws { try Self.run(pgCtl + arguments) }

    private static func run(_ command: [String]) throws {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("pg_ctl-\(UUID().uuidString.prefix(8)).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try ChildProcess.spawn(["/usr/bin/env"] + command, output: outputPath)
        let status = ChildProcess.wait(pid, timeout: .seconds(120))
        guard status == 0 else {
            let message = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw TestSetupError(message: "\(command.joined(separator: " ")) failed (\(String(describing: status))): \(message)")
        }
    }

    /// On a thread of its own: the last reference may be dropped on the cooperative pool.
    deinit {
        let stop = pgCtl + ["-D", dataDirectory, "-m", "immediate", "-w", "stop"], dataDirectory = dataDirectory
        Thread.detachNewThread {
            try? Self.run(stop)
            try? FileManager.default.removeItem(atPath: dataDirectory)
        }
    }
}

/// Server processes started without Foundation's Process, which suits them badly: a server that outlives
/// its starter (`pg_ctl start`) inherits the descriptor Process watches for the exit, and children inherit
/// the test's blocked signals (mosquitto then never sees SIGTERM). Here: posix_spawn with every descriptor
/// above 2 closed, default signal mask and handlers, and waitpid.
enum ChildProcess {
    static func spawn(_ command: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw TestSetupError(message: "cannot run \(command[0]): \(String(cString: strerror(spawned)))") }
        return pid
    }

    /// The exit status (or 128 + signal), or nil when it still runs at the deadline.
    static func wait(_ pid: pid_t, timeout: Duration) -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if result < 0 && errno != EINTR { return -1 }
            if ContinuousClock.now >= deadline { return nil }
            usleep(20_000)
        }
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34+; not visible to Swift's Glibc module), else
    /// a close action per descriptor open now.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)
            return
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
    }
}

/// Resident set size of a process in KiB (VmRSS in /proc/<pid>/status); nil once it is gone.
func residentKiB(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
    return Int(line.split(separator: " ").dropFirst().first ?? "")
}
