import Postgres
import Testing

/// The driver's own connection settings are defaults: what the database URL says wins (a cluster's URL
/// sets a shorter connect_timeout per host than the driver's, docs/high-availability.md).
@Suite struct ConnectionSettingsTests {
    @Test func whatTheURLSaysWinsOverTheDriversDefaults() async throws {
        let servers = try TestServers.require()
        let separator = servers.databaseURL.contains("?") ? "&" : "?"
        let named = try PGConnection(url: servers.databaseURL + separator + "application_name=from-the-url")
        #expect(try named.query("SELECT current_setting('application_name')")[0, 0] == "from-the-url")
        let plain = try PGConnection(url: servers.databaseURL)
        #expect(try plain.query("SELECT current_setting('application_name')")[0, 0] != "from-the-url")
    }
}
