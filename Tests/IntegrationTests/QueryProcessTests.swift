import Foundation
import TestSupport
import Postgres
import SensorModel
import StorageOperations
import StorageCore
import StorageWriter
import Testing

/// The real `telemetry query` process: where its settings come from (file, environment, options), what
/// a wrong one does (exit 2, one line naming it), bearer tokens, the loopback-only rule without tokens, the
/// retention schedule, and SIGTERM. Every wait is on a condition with a deadline: /readyz, rows, the exit.
@Suite(.timeLimit(.minutes(3)))
struct QueryProcessTests {
    // MARK: settings

    @Test func readsTheSettingsFileThatTelemetryConfigNames() async throws {
        let setup = try Deployment.make(device: "seen-by-file-db")
        let file = try writeSettings(setup.settings(tokens: "file-token"), in: try makeTemporaryDirectory())
        let query = try await setup.startReady(["TELEMETRY_CONFIG": file])
        defer { query.stop() }
        // api_tokens, catalog and database_url all came from the file.
        #expect(await query.get("/v1/sensors")?.status == 401)
        #expect(try await query.sensorNames(token: "file-token") == [setup.sensor.name])
        #expect(try await query.deviceNames(of: setup.sensor.name, token: "file-token") == ["seen-by-file-db"])
    }

    @Test func readsConfigTelemetryJSONInItsWorkingDirectoryByDefault() async throws {
        let setup = try Deployment.make(device: "seen-by-default-file")
        // No TELEMETRY_CONFIG, no catalog key: config/telemetry.json and config/sensors, relative to the working directory.
        let directory = try makeTemporaryDirectory()
        let config = directory + "/config"
        try FileManager.default.createDirectory(atPath: config + "/sensors", withIntermediateDirectories: true)
        let sensorFile = setup.catalog.directory + "/\(setup.sensor.name).json"
        try FileManager.default.copyItem(atPath: sensorFile, toPath: config + "/sensors/\(setup.sensor.name).json")
        var settings = setup.settings(tokens: "default-file-token")
        settings.removeValue(forKey: "catalog")
        _ = try writeSettings(settings, in: config)
        let query = try await setup.startReady([:], workingDirectory: directory)
        defer { query.stop() }
        #expect(try await query.sensorNames(token: "default-file-token") == [setup.sensor.name])
        #expect(try await query.deviceNames(of: setup.sensor.name, token: "default-file-token") == ["seen-by-default-file"])
    }

    @Test func theEnvironmentBeatsTheFile() async throws {
        let inFile = try Deployment.make(device: "in-file-db")
        let inEnvironment = try Deployment.make(device: "in-environment-db")
        let file = try writeSettings(inFile.settings(tokens: "file-token"), in: try makeTemporaryDirectory())
        let query = try await inEnvironment.startReady(inEnvironment.environment(["TELEMETRY_CONFIG": file, "TELEMETRY_API_TOKENS": "environment-token"]))
        defer { query.stop() }
        #expect(!acceptsConnections(port: inFile.port), "it also listens on the file's port")
        #expect(await query.get("/v1/sensors", authorization: "Bearer file-token")?.status == 401)
        #expect(try await query.sensorNames(token: "environment-token") == [inEnvironment.sensor.name])
        #expect(try await query.deviceNames(of: inEnvironment.sensor.name, token: "environment-token") == ["in-environment-db"])
    }

    @Test func hostAndPortOptionsBeatTheEnvironment() async throws {
        let setup = try Deployment.make()
        let optionPort = try freeLoopbackPort()
        // Without tokens 0.0.0.0 would be refused: --host must be what puts it back on loopback.
        let query = try await setup.startReady(
            setup.environment(["TELEMETRY_HTTP_HOST": "0.0.0.0"]), arguments: ["--host", "127.0.0.1", "--port", String(optionPort)], port: optionPort)
        defer { query.stop() }
        #expect(!acceptsConnections(port: setup.port), "it also listens on TELEMETRY_HTTP_PORT")
    }

    /// Each key of the contract, all at once in the file, valid: it starts.
    @Test func everyDocumentedKeyIsAcceptedInTheFile() async throws {
        let setup = try Deployment.make()
        var settings = setup.settings(tokens: "a,b")
        settings.merge(["read_pool_size": 2, "rollup_cache_mb": 8, "retention_interval_seconds": 600]) { $1 }
        let file = try writeSettings(settings, in: try makeTemporaryDirectory())
        try await setup.startReady(["TELEMETRY_CONFIG": file]).stop()
    }

    /// A wrong value stops start-up: exit status 2 and one line that names the setting where it was set.
    /// The environment cases give the key a good value in the file (where the key has one) and a bad one in the
    /// variable, so they also show that the variable is read and beats the file. (A bad value in the file is
    /// checked only for http_port: for a key the file does not know, "unknown setting" names it the same way.)
    @Test(arguments: [
        BadStart(environment: ["TELEMETRY_HTTP_PORT": "abc"], names: ["TELEMETRY_HTTP_PORT"]),
        BadStart(environment: ["TELEMETRY_HTTP_PORT": "70000"], names: ["TELEMETRY_HTTP_PORT"]),
        BadStart(file: ["http_port": "abc"], names: ["{file}: http_port"]),
        BadStart(file: ["no_such_key": 1], names: ["{file}: no_such_key"]),
        BadStart(file: ["read_pool_size": 2], environment: ["TELEMETRY_READ_POOL_SIZE": "0"], names: ["TELEMETRY_READ_POOL_SIZE"]),
        BadStart(file: ["rollup_cache_mb": 8], environment: ["TELEMETRY_ROLLUP_CACHE_MB": "abc"], names: ["TELEMETRY_ROLLUP_CACHE_MB"]),
        BadStart(file: ["retention_interval_seconds": 600], environment: ["TELEMETRY_RETENTION_INTERVAL_SECONDS": "0"],
                 names: ["TELEMETRY_RETENTION_INTERVAL_SECONDS"]),
        BadStart(environment: ["TELEMETRY_RETENTION_INTERVAL_SECONDS": "soon"], names: ["TELEMETRY_RETENTION_INTERVAL_SECONDS"]),
        BadStart(environment: ["TELEMETRY_DATABASE_URL": "not a database"], names: ["TELEMETRY_DATABASE_URL"]),
    ])
    func aWrongSettingStopsStartUpNamingIt(_ start: BadStart) async throws {
        try await start.expectRefused()
    }

    // MARK: tokens and the loopback rule

    /// Without tokens it does not start on an address other machines reach, however the host is given.
    @Test(arguments: [
        BadStart.noTokens(environment: ["TELEMETRY_HTTP_HOST": "0.0.0.0"]),
        BadStart.noTokens(arguments: ["--host", "0.0.0.0"]),
        BadStart.noTokens(file: ["http_host": "0.0.0.0"]),
        BadStart.noTokens(environment: ["TELEMETRY_HTTP_HOST": "0.0.0.0", "TELEMETRY_API_TOKENS": " , "]),
        BadStart.noTokens(file: ["http_host": "0.0.0.0", "api_tokens": ""]),
        // A name is not an address: one that merely starts with "127." may resolve to any interface.
        BadStart.noTokens(environment: ["TELEMETRY_HTTP_HOST": "127.in-a-name.invalid"]),
    ])
    func withoutTokensItRefusesANonLoopbackHost(_ start: BadStart) async throws {
        try await start.expectRefused()
    }

    @Test func withoutTokensOnLoopbackItServesWithoutAuthAndOnlyThere() async throws {
        let setup = try Deployment.make(device: "open-device")
        let query = try await setup.startReady(setup.environment(["TELEMETRY_HTTP_HOST": "127.0.0.1"]))
        defer { query.stop() }
        #expect(try await query.sensorNames(token: nil) == [setup.sensor.name])
        #expect(try await query.deviceNames(of: setup.sensor.name, token: nil) == ["open-device"])
        #expect(await query.get("/metrics")?.status == 200)
        for address in nonLoopbackAddresses() {
            #expect(await query.get("/healthz", host: address) == nil, "without tokens it answers on \(address)")
        }
    }

    @Test func withTokensEveryRouteButTheHealthChecksNeedsOne() async throws {
        let setup = try Deployment.make(device: "dev-1")
        let query = try await setup.startReady(setup.environment(["TELEMETRY_HTTP_HOST": "0.0.0.0", "TELEMETRY_API_TOKENS": "alpha-token,beta-token"]))
        defer { query.stop() }
        #expect(await query.get("/healthz")?.status == 200)
        #expect(await query.get("/readyz")?.status == 200)
        let sensor = setup.sensor.name
        let range = "from=\(Deployment.readingTime / 1000 - 86_400_000)&to=\(Deployment.readingTime / 1000 + 86_400_000)"
        let routes = [
            "/v1/sensors", "/v1/sensors/\(sensor)/devices", "/v1/sensors/\(sensor)/devices/dev-1/latest",
            "/v1/sensors/\(sensor)/devices/dev-1/readings?\(range)", "/v1/sensors/\(sensor)/aggregates?bucket=1h&\(range)",
            "/v1/rejected", "/metrics", "/openapi.yaml",
        ]
        let refused: [String?] = [nil, "Bearer gamma-token", "Bearer alpha", "Bearer alpha-token,beta-token", "Basic alpha-token", "alpha-token"]
        for route in routes {
            for authorization in refused {
                let reply = await query.get(route, authorization: authorization)
                #expect(reply?.status == 401, "\(route) with \(authorization ?? "no Authorization"): \(reply.map { "\($0.status)" } ?? "no answer")")
                #expect(reply?.errorCode == "unauthorized", "\(route): \(reply?.text ?? "")")
            }
            for token in ["alpha-token", "beta-token"] {
                let reply = await query.get(route, authorization: "Bearer \(token)")
                #expect(reply?.status == 200, "\(route) with \(token): \(reply?.status ?? 0) \(reply?.text.prefix(300) ?? "")")
            }
        }
        // 0.0.0.0 is honoured: with tokens it answers beyond loopback.
        for address in nonLoopbackAddresses() {
            #expect(await query.get("/readyz", host: address)?.status == 200, "not listening on \(address)")
        }
    }

    // MARK: readiness, retention, shutdown

    /// What the other tests wait on means something: /readyz is 503 while the database does not answer.
    @Test func readyzIsUnavailableWhileTheDatabaseDoesNotAnswer() async throws {
        let setup = try Deployment.make()
        let query = try setup.start(setup.environment(["TELEMETRY_DATABASE_URL": "postgresql://postgres@127.0.0.1:\(try freeLoopbackPort())/telemetry"]))
        defer { query.stop() }
        #expect(try await within(.seconds(30)) {
            guard query.process.isRunning else { return true }
            return await query.get("/healthz")?.status == 200
        })
        #expect(query.process.isRunning, "\(query.process.output.suffix(1500))")
        #expect(await query.get("/readyz")?.status == 503)
    }

    /// With TELEMETRY_RETENTION_INTERVAL_SECONDS=1 the policy keeps running: an old partition made after the
    /// first one was dropped goes too. Only the sensor type with a retention setting loses anything.
    @Test func retentionRunsEveryIntervalNotOnlyAtStart() async throws {
        let servers = try TestServers.require()
        let testCatalog = try TestCatalog.make(from: ["temperature", "humidity"])
        try setRetention(["raw": "3d", "rollup_1m": "3d"], of: testCatalog.sensor("temperature").name, in: testCatalog.directory)
        try setRetention(nil, of: testCatalog.sensor("humidity").name, in: testCatalog.directory)
        let catalog = try Catalog.load(directory: testCatalog.directory)
        let limited = try #require(catalog[testCatalog.sensor("temperature").name])
        let unlimited = try #require(catalog[testCatalog.sensor("humidity").name])
        let database = try servers.makeDatabase()
        let connection = try PGConnection(url: database)
        try Schema.migrate(connection, catalog: catalog)
        let today = Micros.day(of: Int64(Date().timeIntervalSince1970 * 1_000_000))
        #expect(try writeReadings(of: limited, days: [today - 10, today - 1, today], on: connection) == 3)
        #expect(try writeReadings(of: unlimited, days: [today - 10, today], on: connection) == 2)
        let setup = try Deployment(servers, catalog: testCatalog, database: database)
        // Compaction off: the readings partitions and heap rows are what this test reads retention's work from
        // (compaction would move the old readings into blocks and drop their emptied partitions itself).
        let query = try await setup.startReady(setup.environment(["TELEMETRY_RETENTION_INTERVAL_SECONDS": "1", "TELEMETRY_COMPACT_AFTER_MINUTES": "none"]))
        defer { query.stop() }
        let tables = SensorTables(limited)
        func days(_ sensor: SensorType) -> [Int64] { (try? RetentionPolicy.partitionDays(SensorTables(sensor), on: connection).map(\.day)) ?? [] }
        func minuteRollups(before day: Int64) -> String? {
            try? connection.query("SELECT count(*) FROM \(tables.rollup1m) WHERE bucket < to_timestamp(\(day * 86_400))")[0, 0]
        }
        #expect(try await within(.seconds(30)) { !days(limited).contains(today - 10) && minuteRollups(before: today - 3) == "0" },
                "the old partition or its 1m rollups are still there: \(days(limited)), \(query.process.output.suffix(1500))")
        #expect(Set([today - 1, today]).isSubset(of: days(limited)))
        #expect(try connection.query("SELECT count(*) FROM \(tables.readings)")[0, 0] == "2")
        #expect(try connection.query("SELECT count(*) FROM \(tables.rollup1h)")[0, 0] == "3", "the 1h rollups have no retention")
        #expect(days(unlimited).contains(today - 10), "a sensor type without retention lost its old partition")

        // Late data for an even older day, after the first pass: only a later pass can drop it.
        #expect(try writeReadings(of: limited, days: [today - 12], on: connection) == 1)
        #expect(try await within(.seconds(30)) { !days(limited).contains(today - 12) },
                "retention did not run again within 30 s at a 1 s interval: \(days(limited)), \(query.process.output.suffix(1500))")
        #expect(query.process.isRunning)
        #expect(days(unlimited).contains(today - 10))
    }

    /// SIGTERM with and without a retention setting in the catalog (the schedule sleeping, or idle from the
    /// start), and SIGINT (Ctrl-C), which `--help` promises the same of.
    @Test(arguments: [(SIGTERM, true), (SIGTERM, false), (SIGINT, true)])
    func aStopSignalExitsWithStatusZeroAndTheNextStartGetsThePort(signal: Int32, retention: Bool) async throws {
        let setup = try Deployment.make()
        if !retention { try setRetention(nil, of: setup.sensor.name, in: setup.catalog.directory) }
        let first = try await setup.startReady(setup.environment())
        defer { first.stop() }
        // An idle keep-alive connection of a client must not hold the shutdown up.
        #expect(await first.get("/v1/sensors", keepAlive: true)?.status == 200)
        #expect(first.process.isRunning, "it stopped by itself: \(first.process.output.suffix(1500))")
        first.process.signal(signal)
        let status = try await first.exitStatus(within: .seconds(10))
        #expect(status == 0, "exit status \(status.map(String.init) ?? "none within 10 s"): \(first.process.output.suffix(1500))")
        #expect(first.process.process.terminationReason == .exit)

        let second = try await setup.startReady(setup.environment())
        defer { second.stop() }
        #expect(try await second.sensorNames(token: nil) == [setup.sensor.name])
    }

    /// "SIGTERM: finish requests, exit 0": a request held up in PostgreSQL (by a lock the test holds) when the
    /// signal comes still gets its answer, once the service has stopped taking connections.
    @Test func sigtermLetsARequestInFlightFinish() async throws {
        let setup = try Deployment.make(device: "dev-1")
        let query = try await setup.startReady(setup.environment())
        defer { query.stop() }
        let table = SensorTables(setup.sensor).readings
        let locker = try PGConnection(url: setup.database)
        try locker.execute("BEGIN")
        try locker.execute("LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE")
        let range = "from=\(Deployment.readingTime / 1000)&to=\(Deployment.readingTime / 1000 + 1)"
        let inFlight = Task { await query.get("/v1/sensors/\(setup.sensor.name)/devices/dev-1/readings?\(range)", timeout: 30) }
        // Watched from a connection of its own: inside the locker's transaction pg_stat_activity stays as it first was.
        let observer = try PGConnection(url: setup.database)
        let waiting = try await within(.seconds(30)) {
            try observer.query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND position($1 IN query) > 0",
                ["FROM \(table)"])[0, 0] != "0"
        }
        #expect(waiting, "the request never waited for the lock in PostgreSQL")
        query.process.signal(SIGTERM)
        let closed = try await within(.seconds(10)) { !acceptsConnections(port: setup.port) || !query.process.isRunning }
        #expect(closed, "still taking connections 10 s after SIGTERM")
        try locker.execute("COMMIT")
        let reply = await inFlight.value
        #expect(reply?.status == 200, "the request in flight got \(reply.map { "\($0.status) \($0.text)" } ?? "no answer")")
        #expect(reply?.text.contains("21.5") == true)
        #expect(try await query.exitStatus(within: .seconds(10)) == 0, "\(query.process.output.suffix(1500))")
    }

    /// An open live stream must not hold the shutdown up (it did, until a supervisor's SIGKILL 30 s later):
    /// SIGTERM ends the stream and the process exits 0 within seconds, the query service and the monolith alike.
    @Test(arguments: ["query", "all"])
    func sigtermWithALiveStreamOpenExitsWithinSeconds(command: String) async throws {
        let setup = try Deployment.make(device: "dev-1")
        let instance = "stream\(UUID().uuidString.prefix(6).lowercased())"
        let monolith = command == "all" ? [
            "TELEMETRY_MQTT_URL": setup.servers.mqttURL, "TELEMETRY_INSTANCE": instance,
            "TELEMETRY_JOURNAL_DIR": FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(instance)").path,
        ] : [:]
        let service = try await setup.startReady(setup.environment(monolith), command: command)
        defer {
            service.stop()
            // The monolith's catch-all has a persistent session on telemetry/#: end it, or the broker queues for it.
            if command == "all" { UnroutedTopicsTests.endSession(clientID: "ingest-unrouted-\(instance)", servers: setup.servers) }
        }
        let stream = try StreamClient(port: setup.port, path: "/v1/sensors/\(setup.sensor.name)/devices/dev-1/stream")
        #expect(try await Blocking.run { stream.read(until: "retry:", timeout: .seconds(10)) }, "the stream did not open: \(stream.received)")
        service.process.signal(SIGTERM)
        let status = try await service.exitStatus(within: .seconds(5))
        #expect(status == 0, "exit status \(status.map(String.init) ?? "none within 5 s of SIGTERM"): \(service.process.output.suffix(1500))")
        // Ended as a response ends (the last chunk), not cut off.
        #expect(try await Blocking.run { stream.read(until: "\r\n0\r\n\r\n", timeout: .seconds(1)) }, "\(stream.received.suffix(300))")
    }

    // MARK: dead letters

    /// A page of dead letters stops at its byte budget (about 1 MiB of JSON) and gives the cursor to go on:
    /// before, `limit=10000` answered the whole table in one piece (13 MB in the issue) and the service kept
    /// the memory. Following the cursors yields every dead letter once, in order.
    @Test func aPageOfDeadLettersStopsAtItsByteBudgetAndTheCursorGoesOn() async throws {
        let setup = try Deployment.make()
        let connection = try PGConnection(url: setup.database)
        try Schema.migrate(connection, catalog: setup.catalog.catalog)
        // 300 dead letters of 100 kB each (30 MB), of 300 devices, a second apart.
        try connection.execute("""
            INSERT INTO rejected (sensor, topic, received_at, reason, payload)
            SELECT NULL, 'telemetry/nosuch/big-' || n, timestamptz 'epoch' + (\(Deployment.readingTime) + n * 1000000) * interval '1 microsecond',
                   'unknown_sensor', decode(repeat(lpad(to_hex(n % 256), 2, '0'), 100000), 'hex')
            FROM generate_series(1, 300) n
            """)
        let query = try await setup.startReady(setup.environment())
        defer { query.stop() }
        let pid = query.process.process.processIdentifier
        let before = residentKiB(pid: pid) ?? 0
        var largest = 0, pages = 0
        // Every dead letter's topic, page after page in `order`.
        func pageThrough(_ order: String) async throws -> [String] {
            var topics: [String] = []
            var cursor: String?
            repeat {
                let path = "/v1/rejected?limit=10000&order=\(order)" + (cursor.map { "&cursor=\($0)" } ?? "")
                let reply = try #require(await query.get(path, timeout: 30))
                try #require(reply.status == 200, "\(reply.status) \(reply.text.prefix(300))")
                largest = max(largest, reply.body.count)
                let page = try JSONSerialization.jsonObject(with: reply.body) as? [String: Any] ?? [:]
                topics += (page["rejected"] as? [[String: Any]] ?? []).compactMap { $0["topic"] as? String }
                cursor = page["next"] as? String
                pages += 1
            } while cursor != nil && pages < 400
            return topics
        }
        let ascending = try await pageThrough("asc")
        let after = residentKiB(pid: pid) ?? 0
        print("dead-letter pages: \(pages), largest \(largest) bytes; query service RSS \(before) KiB before, \(after) KiB after")
        let all = (1...300).map { "telemetry/nosuch/big-\($0)" }
        #expect(ascending == all, "\(ascending.count) dead letters over \(pages) pages")
        #expect(try await pageThrough("desc") == all.reversed())
        #expect(largest <= (1 << 20) + 140_000, "a page of \(largest) bytes")
        #expect(after - before < 24 * 1024, "the service grew from \(before) to \(after) KiB")
    }

    /// Dead letters, the status rows of ingest services gone for a week and the per-minute reading counts are
    /// pruned by age at every retention pass, even when no sensor type has a retention setting (before: never).
    @Test func retentionPrunesDeadLettersGoneServicesAndReadingCounts() async throws {
        let setup = try Deployment.make()
        try setRetention(nil, of: setup.sensor.name, in: setup.catalog.directory)
        let connection = try PGConnection(url: setup.database)
        try Schema.migrate(connection, catalog: setup.catalog.catalog)
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        func daysAgo(_ days: Int64) -> String { "timestamptz 'epoch' + \(now - days * Micros.perDay) * interval '1 microsecond'" }
        try connection.execute("""
            INSERT INTO rejected (sensor, topic, received_at, reason, payload) VALUES
                (NULL, 'telemetry/x/old', \(daysAgo(11)), 'unknown_sensor', '\\x01'), (NULL, 'telemetry/x/new', \(daysAgo(9)), 'unknown_sensor', '\\x02');
            INSERT INTO ingest_status VALUES ('ingest-gone-0', 'gone', 'h', 1, NULL, true, true, 0, 0, 0, 0, 0, 0, 0, \(daysAgo(8))),
                ('ingest-idle-0', 'idle', 'h', 1, NULL, true, true, 0, 0, 0, 0, 0, 0, 0, \(daysAgo(6)));
            INSERT INTO reading_counts VALUES ('\(setup.sensor.name)', \(daysAgo(2)), 0, 5), ('\(setup.sensor.name)', now(), 0, 7), ('retired', \(daysAgo(2)), 0, 3);
            """)
        let query = try await setup.startReady(setup.environment(["TELEMETRY_DEAD_LETTER_RETENTION_DAYS": "10"]))
        defer { query.stop() }
        func column(_ sql: String) -> [String] { ((try? connection.query(sql))?.rows ?? []).compactMap { $0[0] } }
        let pruned = try await within(.seconds(30)) {
            column("SELECT topic FROM rejected") == ["telemetry/x/new"] && column("SELECT service FROM ingest_status") == ["ingest-idle-0"]
                && column("SELECT readings::text FROM reading_counts") == ["7"]
        }
        #expect(pruned, """
            dead letters \(column("SELECT topic FROM rejected")), services \(column("SELECT service FROM ingest_status")), \
            counts \(column("SELECT readings::text FROM reading_counts")): \(query.process.output.suffix(1500))
            """)
    }

    /// One device cannot fill the dead-letter store: past `dead_letter_quota_per_hour` its dead letters of that
    /// hour are counted, not kept, whatever topic they come on (the device is read from the topic), and the
    /// count is served at /v1/rejected/over-quota. Another device's dead letters are kept.
    @Test func aDeviceOverItsDeadLetterQuotaIsCountedNotStored() async throws {
        let setup = try Deployment.make()
        let query = try await setup.startReady(setup.environment(["TELEMETRY_DEAD_LETTER_QUOTA_PER_HOUR": "5"]))
        defer { query.stop() }
        let connection = try PGConnection(url: setup.database)
        let applied = try await within(.seconds(30)) { (try? connection.query("SELECT per_hour FROM dead_letter_quota"))?[0, 0] == "5" }
        #expect(applied, "the quota was not applied: \(query.process.output.suffix(1500))")
        let sensor = setup.sensor.name
        let hour = Deployment.readingTime / 3_600_000_000 * 3_600_000_000
        let flood = ["telemetry/\(sensor)/flood", "telemetry/\(sensor)/flood/json", "telemetry/nosuch/flood"]
        var batch = IngestBatch(fieldCount: 1)
        batch.deadLetters = (0..<9).map { DeadLetter(sensor: sensor, topic: flood[$0 % 3], receivedAt: hour + Int64($0), reason: "truncated", payload: [UInt8($0)]) }
            + (0..<2).map { DeadLetter(sensor: sensor, topic: "telemetry/\(sensor)/calm", receivedAt: hour + Int64($0), reason: "truncated", payload: [1]) }
        _ = try BatchWriter(connection: connection, sensor: setup.sensor).write(batch)
        #expect(try connection.query("SELECT count(*) FROM rejected WHERE topic LIKE '%/flood%'")[0, 0] == "5")
        #expect(try connection.query("SELECT count(*) FROM rejected WHERE topic LIKE '%/calm'")[0, 0] == "2")
        let reply = try #require(await query.get("/v1/rejected/over-quota?from=0"))
        #expect(reply.status == 200, "\(reply.status) \(reply.text.prefix(300))")
        let rows = (try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])?["over_quota"] as? [[String: Any]] ?? []
        #expect(rows.count == 1, "\(reply.text)")
        #expect(rows.first?["source"] as? String == "flood" && rows.first?["kept"] as? Int == 5 && rows.first?["refused"] as? Int == 4, "\(reply.text)")
        #expect(rows.first?["hour"] as? String == TimeText.format(hour), "\(reply.text)")
    }
}

// MARK: - helpers

/// What one test runs `telemetry query` with: its own catalog and database, and a free port for it (on
/// loopback). `make` takes one sensor type and stores one reading of a device when asked.
struct Deployment {
    /// An hour ago, in µs: well inside the sensor type's retention, which the service applies at start.
    static let readingTime = (Int64(Date().timeIntervalSince1970) - 3600) * 1_000_000
    let servers: TestServers
    let catalog: TestCatalog
    /// The catalog's first sensor type.
    let sensor: SensorType
    let database: String
    let port: Int

    init(_ servers: TestServers, catalog: TestCatalog, database: String) throws {
        self.servers = servers
        self.catalog = catalog
        sensor = catalog.catalog.sensors[0]
        self.database = database
        port = try freeLoopbackPort()
    }

    static func make(device: String? = nil) throws -> Deployment {
        let servers = try TestServers.require()
        let setup = try Deployment(servers, catalog: try TestCatalog.make(from: ["temperature"]), database: try servers.makeDatabase())
        if let device {
            let connection = try PGConnection(url: setup.database)
            try Schema.migrate(connection, catalog: setup.catalog.catalog)
            var batch = IngestBatch(fieldCount: 1)
            let row = batch.readings.appendRow(time: readingTime, seq: 1)
            batch.readings.set(field: 0, row: row, 21.5)
            batch.closeSpan(device: device, from: 0)
            _ = try BatchWriter(connection: connection, sensor: setup.sensor).write(batch)
        }
        return setup
    }

    /// The settings file's keys.
    func settings(tokens: String? = nil) -> [String: Any] {
        var settings: [String: Any] = ["database_url": database, "http_host": "127.0.0.1", "http_port": port, "catalog": catalog.directory]
        if let tokens { settings["api_tokens"] = tokens }
        return settings
    }

    /// The same as environment variables (but the host), with `extra` added.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["TELEMETRY_DATABASE_URL": database, "TELEMETRY_HTTP_PORT": String(port), "TELEMETRY_CATALOG": catalog.directory].merging(extra) { $1 }
    }

    /// Starts it (`command`: `query`, or `all` for the monolith), expected on `port` (default: this deployment's).
    func start(
        _ environment: [String: String], arguments: [String] = [], workingDirectory: String? = nil, port: Int? = nil, command: String = "query"
    ) throws -> QueryRun {
        try QueryRun(servers, port: port ?? self.port, environment: environment, arguments: arguments, workingDirectory: workingDirectory, command: command)
    }

    /// Starts it and waits for /readyz.
    func startReady(
        _ environment: [String: String], arguments: [String] = [], workingDirectory: String? = nil, port: Int? = nil, command: String = "query"
    ) async throws -> QueryRun {
        let query = try start(environment, arguments: arguments, workingDirectory: workingDirectory, port: port, command: command)
        try await query.waitUntilReady()
        return query
    }
}

/// A value for a settings file, Sendable so it can be a test argument.
enum SettingValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case text(String), number(Int)
    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int) { self = .number(value) }
    var json: Any {
        switch self {
        case .text(let text): text
        case .number(let number): number
        }
    }
}

/// A start-up that must stop: exit status 2 and one line naming the setting.
struct BadStart: Sendable, CustomTestStringConvertible {
    var file: [String: SettingValue] = [:]
    var environment: [String: String] = [:]
    var arguments: [String] = []
    /// What the error line must name (one of these); `{file}` stands for the settings file's path.
    var names: [String]

    /// No tokens, and a host that is not loopback: the line names the tokens' setting.
    static func noTokens(file: [String: SettingValue] = [:], environment: [String: String] = [:], arguments: [String] = []) -> BadStart {
        BadStart(file: file, environment: environment, arguments: arguments, names: ["TELEMETRY_API_TOKENS", "api_tokens"])
    }

    var testDescription: String {
        "file \(file.keys.sorted()) env \(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }) args \(arguments)"
    }

    /// Starts it with otherwise good settings (a settings file, on loopback) changed by this case.
    func expectRefused(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let setup = try Deployment.make()
        var settings = setup.settings()
        for (key, value) in file { settings[key] = value.json }
        let path = try writeSettings(settings, in: try makeTemporaryDirectory())
        let query = try setup.start(environment.merging(["TELEMETRY_CONFIG": path]) { $1 }, arguments: arguments)
        try await query.expectRefusal(naming: names.map { $0.replacingOccurrences(of: "{file}", with: path) }, sourceLocation: sourceLocation)
    }
}

/// Writes `telemetry.json` into `directory`; returns its path.
private func writeSettings(_ settings: [String: Any], in directory: String) throws -> String {
    let path = directory + "/telemetry.json"
    try JSONSerialization.data(withJSONObject: settings, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    return path
}

/// Rewrites one sensor type's catalog file with another retention setting (nil: none).
private func setRetention(_ retention: [String: String]?, of sensor: String, in directory: String) throws {
    let url = URL(fileURLWithPath: directory).appendingPathComponent("\(sensor).json")
    var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    if let retention { object["retention"] = retention } else { object.removeValue(forKey: "retention") }
    try JSONSerialization.data(withJSONObject: object).write(to: url)
}

/// One reading at 00:01 of each day for device "dev-1"; returns how many were inserted.
private func writeReadings(of sensor: SensorType, days: [Int64], on connection: PGConnection) throws -> Int {
    var batch = IngestBatch(fieldCount: sensor.fields.count)
    for day in days {
        let row = batch.readings.appendRow(time: day * Micros.perDay + 60_000_000, seq: day)
        for field in sensor.fields.indices { batch.readings.set(field: field, row: row, 1) }
    }
    batch.closeSpan(device: "dev-1", from: 0)
    return try BatchWriter(connection: connection, sensor: sensor).write(batch).inserted
}
