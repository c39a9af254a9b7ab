import Foundation
import MQTT
import Postgres
import TestSupport

/// The certificate path of `EndToEndBenchmark credentials`: one device of the fleet gets a client
/// certificate (`telemetry devices cert`) and connects on the certificate listener, with `revoked`
/// certificates already in the CRL; then its credential is revoked while the fleet is connected. Measured:
/// the time until the broker drops its TLS session (broker-sync signs the CRL, the broker reloads, the
/// probe takes over the client id), the broker CPU of that reload, the CRL's size, and that the
/// certificate is refused afterwards.
struct CertificateRevocationCost {
    let telemetry: String
    let caDirectory: String
    let port: Int
    let crlFile: String
    /// Revoked certificates (of devices that no longer exist) in the CRL before the measurement.
    let revoked: Int

    struct Result {
        var droppedAfter: Double
        var reloadBrokerCPU: Double
        var crlBytes: Int
    }

    /// nil when the script started no certificate listener.
    init?(environment: [String: String]) {
        guard let telemetry = environment["BENCH_TELEMETRY"], let caDirectory = environment["BENCH_CA_DIR"],
              let port = environment["BENCH_CERT_PORT"].flatMap(Int.init), let crlFile = environment["BENCH_CRL_FILE"] else { return nil }
        self.telemetry = telemetry
        self.caDirectory = caDirectory
        self.port = port
        self.crlFile = crlFile
        revoked = Int(environment["BENCH_REVOKED_CERTIFICATES"] ?? "") ?? 10_000
    }

    /// Fills the CRL's table with `revoked` certificates of devices that have no credential (idempotent).
    func prepare(databaseURL: String) throws {
        let connection = try PGConnection(url: databaseURL)
        try connection.query("""
            INSERT INTO device_certificates (serial, device, not_after, revoked)
            SELECT 'BE' || lpad(to_hex(g), 8, '0'), 'gone-' || g, now() + interval '825 days', now() - interval '2 hours'
            FROM generate_series(1, $1::int) AS g ON CONFLICT (serial) DO NOTHING
            """, [String(revoked)])
    }

    func measure(device: String, databaseURL: String, brokerPID: Int32?, revoke: () throws -> Void) throws -> Result {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-certificates-\(getpid())").path
        try run([telemetry, "devices", "cert", device, "--ca-cert", caDirectory + "/ca.crt", "--ca-key", caDirectory + "/ca.key", "--out", out],
                environment: ["TELEMETRY_DATABASE_URL": databaseURL])
        var url = MQTTURL(host: "127.0.0.1", port: Int32(port), tls: true, caFile: caDirectory + "/ca.crt")
        url.certificateFile = "\(out)/\(device).crt"
        url.keyFile = "\(out)/\(device).key"
        let dropped = DispatchSemaphore(value: 0)
        let client = try MQTTClient(url: url, options: .init(clientID: device), onConnectionChange: { connected, _ in
            if !connected { dropped.signal() }
        })
        defer { client.stop() }
        try client.start()
        guard client.waitUntilReady(timeout: .seconds(10)) else { throw BenchError("\(device)'s certificate was refused") }
        let cpuBefore = brokerPID.map { processCPU($0) } ?? 0
        let started = Date()
        try revoke()
        guard dropped.wait(timeout: .now() + 30) == .success else { throw BenchError("the revoked certificate was still connected after 30 s") }
        let droppedAfter = Date().timeIntervalSince(started)
        Thread.sleep(forTimeInterval: 1)  // the reload's CPU is spent by now
        let cpu = (brokerPID.map { processCPU($0) } ?? 0) - cpuBefore
        client.stop()
        let again = try MQTTClient(url: url, options: .init(clientID: device))
        defer { again.stop() }
        if (try? again.start()) != nil, again.waitUntilReady(timeout: .seconds(3)) { throw BenchError("the revoked certificate connected again") }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: crlFile))?[.size] as? Int ?? 0
        return Result(droppedAfter: droppedAfter, reloadBrokerCPU: cpu, crlBytes: bytes)
    }

    private func run(_ command: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("\(command.joined(separator: " ")) failed (\(process.terminationStatus))") }
    }
}
