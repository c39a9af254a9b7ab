import ArgumentParser
import Foundation

/// `--host` and `--port` of the HTTP services: they beat http_host and http_port (as their variables would).
struct ListenOptions: ParsableArguments {
    @Option(name: .long, help: "Listen on this host instead of http_host.")
    var host: String?

    @Option(name: .long, help: "Listen on this port instead of http_port.")
    var port: Int?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0...65535, got \(port)") }
        if let host, host.isEmpty { throw ValidationError("--host must not be empty") }
    }

    /// The process environment with the options in place of their variables.
    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let host { environment["TELEMETRY_HTTP_HOST"] = host }
        if let port { environment["TELEMETRY_HTTP_PORT"] = String(port) }
        return environment
    }
}
