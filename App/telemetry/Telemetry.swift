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
        version: Telemetry.version,
        subcommands: [IngestCommand.self, QueryCommand.self, EmulateCommand.self, AllCommand.self, DevicesCommand.self, BrokerSyncCommand.self,
            SettingsCommand.self, CompactCommand.self])

    /// `telemetry --version`: raised with every release (CHANGES in docs/deployment.md's upgrade notes).
    static let version = "0.9.0"
}

/// An error of a command's work (not of how it was called): printed as one line, exit status 1, no usage.
/// ArgumentParser's `ValidationError` is for arguments; it prints the usage and exits 64.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
