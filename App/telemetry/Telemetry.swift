import ArgumentParser

/// The platform's one executable: each service is a subcommand, `all` runs every one in this process.
@main
struct Telemetry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telemetry",
        abstract: "IoT telemetry over MQTT into PostgreSQL: ingest, query, emulate, or all of it in one process.",
        discussion: """
            Settings come from config/telemetry.json (or the file TELEMETRY_CONFIG names), each overridable by its
            TELEMETRY_* environment variable; `telemetry settings` (docs/settings.md) lists them all. SIGTERM or
            SIGINT: stop taking work, finish what was received, exit 0.
            """,
        subcommands: [IngestCommand.self, QueryCommand.self, EmulateCommand.self, AllCommand.self, DevicesCommand.self, BrokerSyncCommand.self,
            SettingsCommand.self])
}
