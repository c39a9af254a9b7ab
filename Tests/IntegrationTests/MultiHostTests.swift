import Foundation
import StorageCore
import Testing

/// The platform across hosts (`scripts/run-hosts.sh`): broker, two PostgreSQL servers, each ingest
/// service, the query service and the load each in a network namespace of its own, joined by a bridge the
/// script makes (and removes). The mixed load of all six sensor types is stored exactly once (`--verify`),
/// two of them in the second server, and the query service answers across the bridge.
@Suite(.timeLimit(.minutes(5)))
struct MultiHostTests {
    @Test func theMultiHostRunStoresEverythingTheLoadSent() async throws {
        let servers = try TestServers.require()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("run-hosts-\(UUID().uuidString.prefix(8)).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let log = try FileHandle(forWritingTo: output)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/run-hosts.sh").path]
        process.currentDirectoryURL = root
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TELEMETRY_") }
        environment["TELEMETRY_BIN_DIR"] = servers.binDirectory
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let exited = try await Blocking.run {
            try blockingEventually(timeout: .seconds(240), poll: .milliseconds(200)) { !process.isRunning }
        }
        if !exited { process.terminate() }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(exited && process.terminationStatus == 0, "\(text.suffix(3000))")
        #expect(text.contains("verify: OK, every acknowledged reading stored exactly once"), "\(text.suffix(3000))")
        for sensor in ["temperature", "humidity", "pressure", "accelerometer", "location", "power"] {
            #expect(text.contains(try Regex("\\n\(sensor) +(\\d+) +\\1 +0 +0")), "\(sensor) not stored in full: \(text.suffix(2000))")
        }
        #expect(text.contains(#"power devices: {"sensor":"power","devices":[{"#), "the query service did not answer across the bridge")
    }
}
