import Foundation
import TestSupport
import Testing

/// One `telemetry query` process, in a working directory of its own unless told otherwise (so the package's
/// config/telemetry.json is never read by accident), expected to serve on `port` of 127.0.0.1.
final class QueryRun: Sendable {
    let process: ServiceProcess
    let port: Int

    init(
        _ servers: TestServers, port: Int, environment: [String: String], arguments: [String] = [], workingDirectory: String? = nil, command: String = "query"
    ) throws {
        self.port = port
        process = try ServiceProcess(
            "telemetry", arguments: [command] + arguments, environment: environment, servers: servers,
            workingDirectory: try workingDirectory ?? makeTemporaryDirectory())
    }

    func stop() { process.stop() }

    /// The exit status once it has exited, or nil at the deadline. (Awaits instead of blocking a thread: the
    /// tests' own HTTP requests need the few threads there are.)
    func exitStatus(within timeout: Duration) async throws -> Int32? {
        _ = try await within(timeout) { !process.isRunning }
        return process.isRunning ? nil : process.process.terminationStatus
    }

    /// Until /readyz says 200; throws with the output when it exits or the deadline passes first.
    func waitUntilReady(timeout: Duration = .seconds(30)) async throws {
        let ready = try await within(timeout) {
            guard process.isRunning else { return true }
            return await get("/readyz")?.status == 200
        }
        guard ready, process.isRunning else {
            throw TestSetupError(message: "telemetry query did not become ready on port \(port): \(process.output.suffix(2000))")
        }
    }

    /// Expects start-up to stop: exit status 2 and one line of output naming one of `names`.
    func expectRefusal(naming names: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let status = try await exitStatus(within: .seconds(15))
        if status == nil { process.stop() }
        let output = process.output
        let lines = output.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        #expect(status == 2, "exit status \(status.map(String.init) ?? "none: still running after 15 s"): \(output.suffix(1500))",
                sourceLocation: sourceLocation)
        #expect(lines.count == 1 && names.contains { lines[0].contains($0) }, "expected one line naming \(names): \(output.suffix(1500))",
                sourceLocation: sourceLocation)
    }

    /// One GET of `path` on its port; nil when nothing answers.
    func get(
        _ path: String, host: String = "127.0.0.1", authorization: String? = nil, keepAlive: Bool = false, timeout: TimeInterval = 5
    ) async -> HTTPReply? {
        await httpGet("http://\(host):\(port)\(path)", authorization: authorization, keepAlive: keepAlive, timeout: timeout)
    }

    /// GET /v1/sensors: the catalog's names.
    func sensorNames(token: String?) async throws -> [String] {
        let sensors = try await httpJSON("http://127.0.0.1:\(port)/v1/sensors", token: token)["sensors"] as? [[String: Any]] ?? []
        return sensors.compactMap { $0["name"] as? String }
    }

    /// GET /v1/sensors/{sensor}/devices: the devices' ids (read from the database).
    func deviceNames(of sensor: String, token: String?) async throws -> [String] {
        let devices = try await httpJSON("http://127.0.0.1:\(port)/v1/sensors/\(sensor)/devices", token: token)["devices"] as? [[String: Any]] ?? []
        return devices.compactMap { $0["device"] as? String }
    }
}

/// A new empty directory under the temporary directory, for a process's working directory or its files.
func makeTemporaryDirectory() throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("query-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}
