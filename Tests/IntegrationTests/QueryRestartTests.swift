import Foundation
import Hummingbird
import HummingbirdTesting
import Postgres
import QueryService
import StorageCore
import Testing
@testable import StorageCore
@testable import StorageWriter

/// After PostgreSQL restarts, the query service answers the first requests instead of a 503: its idle
/// pooled connections only learn of the restart when used, and that use is retried on a new connection.
@Suite(.timeLimit(.minutes(3)))
struct QueryRestartTests {
    @Test func theFirstRequestsAfterADatabaseRestartAreAnswered() async throws {
        let postgres = try await PrivatePostgres.make()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let sensor = catalog.sensor("temperature")
        do {
            let connection = try PGConnection(url: postgres.url)
            try Schema.migrate(connection, catalog: catalog.catalog)
            _ = try BatchWriter(connection: connection, sensor: sensor).write(
                RollupCacheTests.batch(devices: ["dev-a"], from: RollupCacheTests.day0 * Micros.perDay, hours: 2, value: 10))
        }
        let app = try QueryApp(database: postgres.url, catalog: catalog)
        let from = RollupCacheTests.day0 * Micros.perDay
        let uris = [
            "/v1/sensors/\(sensor.name)/aggregates?bucket=1m&from=\(from / 1000)&to=\(from / 1000 + 7_200_000)",
            "/v1/sensors/\(sensor.name)/devices",
        ]
        let pool = app.store.pool
        try await app.application.test(.router) { client in
            #expect(try await client.execute(uri: uris[0], method: .get) { $0.status } == .ok)
            // Every pooled connection is opened (two at once, each held a moment) and left idle.
            async let first: Void = pool.withConnection { connection in try connection.ping(); Thread.sleep(forTimeInterval: 0.5) }
            async let second: Void = pool.withConnection { connection in try connection.ping(); Thread.sleep(forTimeInterval: 0.5) }
            _ = try await (first, second)

            let url = postgres.url
            try await postgres.stop()
            try await postgres.start()
            let back = try await Blocking.run { try blockingEventually { (try? PGConnection(url: url, connectTimeoutSeconds: 1)) != nil } }
            #expect(back)
            for uri in uris + uris {
                let response = try await client.execute(uri: uri, method: .get) { ($0.status, String(buffer: $0.body)) }
                #expect(response.0 == .ok, "\(uri): \(response.1)")
            }
        }
    }
}
