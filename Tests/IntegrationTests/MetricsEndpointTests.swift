import StorageCore
import TestSupport
import Testing

/// An ingest service's health and metrics port follows the query service's rule: loopback by default; an
/// address other machines reach only with tokens, and then `/metrics` needs one (the health checks do not).
@Suite(.timeLimit(.minutes(4)))
struct MetricsEndpointTests {
    @Test func withoutTokensANonLoopbackMetricsHostStopsStartUpNamingIt() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let ingest = try servers.startIngest(
            sensors: [catalog.sensor("temperature").name], catalog: catalog, database: try servers.makeDatabase(),
            extra: ["TELEMETRY_METRICS_HOST": "0.0.0.0"])
        defer { ingest.stop() }
        let status = try await Blocking.run { ingest.waitForExit(timeout: .seconds(15)) }
        #expect(status == 2, "exit status \(status.map(String.init) ?? "none: still running after 15 s"): \(ingest.output.suffix(1500))")
        #expect(ingest.output.contains("TELEMETRY_API_TOKENS") && ingest.output.contains("0.0.0.0"), "\(ingest.output.suffix(1500))")
    }

    @Test func openedWithTokensMetricsNeedOneAndTheHealthChecksDoNot() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let ingest = try servers.startIngest(
            sensors: [catalog.sensor("temperature").name], catalog: catalog, database: try servers.makeDatabase(),
            extra: ["TELEMETRY_METRICS_HOST": "0.0.0.0", "TELEMETRY_API_TOKENS": "metrics-token"])
        defer { ingest.stop() }
        #expect(try await ingest.waitUntilReady(), "\(ingest.output.suffix(1500))")
        let port = try #require(ingest.healthPort)
        #expect(try await Blocking.run { httpStatus("http://127.0.0.1:\(port)/healthz") } == 200)
        #expect(try await Blocking.run { httpStatus("http://127.0.0.1:\(port)/metrics") } == 401)
        #expect(try await Blocking.run { httpStatus("http://127.0.0.1:\(port)/metrics", token: "wrong-token") } == 401)
        #expect(try await Blocking.run { httpStatus("http://127.0.0.1:\(port)/metrics", token: "metrics-token") } == 200)
    }

    @Test func byDefaultItAnswersOnLoopbackOnly() async throws {
        let servers = try TestServers.require()
        let catalog = try TestCatalog.make(from: ["temperature"])
        let ingest = try servers.startIngest(sensors: [catalog.sensor("temperature").name], catalog: catalog, database: try servers.makeDatabase())
        defer { ingest.stop() }
        #expect(try await ingest.waitUntilReady(), "\(ingest.output.suffix(1500))")
        let port = try #require(ingest.healthPort)
        #expect(try await Blocking.run { httpStatus("http://127.0.0.1:\(port)/metrics") } == 200, "no token is set: loopback is open")
        for address in nonLoopbackAddresses() {
            #expect(try await Blocking.run { httpStatus("http://\(address):\(port)/healthz") } == nil, "it answers on \(address)")
        }
    }
}
