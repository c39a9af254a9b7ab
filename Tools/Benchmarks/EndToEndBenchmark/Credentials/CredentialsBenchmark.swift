import Foundation
import TestSupport
import Postgres
import DeviceIdentity
import StorageCore

/// `EndToEndBenchmark credentials` (scripts/bench-credentials.sh): what device identity costs at fleet
/// sizes — provisioning N credentials, the time until the broker takes them (broker-sync writes the files,
/// mosquitto reloads on SIGHUP), and a revocation with many devices connected: the time until the broker
/// drops the revoked one and the broker CPU that reload costs (mosquitto re-checks every connected client).
struct CredentialsBenchmark {
    let databaseURL: String
    let port: Int
    let brokerPID: Int32?
    let fleets: [Int]
    let connected: Int
    /// Every how manyth device is allowed one sensor type only (0: none): those are the ACL's `user` blocks.
    let restrictedEvery: Int
    /// `telemetry query` and an admin token: then each fleet is provisioned by one `POST /v1/devices/credentials`.
    let rest: (url: String, token: String)?
    /// The certificate listener's revocation, when the script started one.
    let certificates: CertificateRevocationCost?

    init() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["BENCH_DATABASE_URL"], let port = environment["BENCH_MQTT_PORT"].flatMap(Int.init) else {
            throw BenchError("BENCH_DATABASE_URL and BENCH_MQTT_PORT are not set: run scripts/bench-credentials.sh")
        }
        databaseURL = url
        self.port = port
        brokerPID = environment["BENCH_MOSQUITTO_PID_FILE"].flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        fleets = (environment["BENCH_FLEETS"] ?? "10000,100000").split(separator: ",").compactMap { Int($0) }
        connected = Int(environment["BENCH_CONNECTED"] ?? "") ?? 2000
        restrictedEvery = Int(environment["BENCH_RESTRICTED_EVERY"] ?? "") ?? 10
        rest = environment["BENCH_QUERY_URL"].flatMap { url in url.isEmpty ? nil : environment["BENCH_ADMIN_TOKEN"].map { (url, $0) } }
        certificates = CertificateRevocationCost(environment: environment)
    }

    struct Result {
        var devices: Int
        var provisionSeconds: Double
        var acceptedAfter: Double
        var connected: Int
        var connectSeconds: Double
        var revokedAfter: Double
        var reloadBrokerCPU: Double
        var fileBytes: Int
        var certificate: CertificateRevocationCost.Result?
    }

    static func accepts(port: Int, username: String, password: String) -> Bool {
        guard let connection = (try? RawConnection.open(port: port, username: username, password: password)) ?? nil else { return false }
        connection.close()
        return true
    }

    /// One `POST /v1/devices/credentials` with every device: what an operator's provisioning call costs.
    static func provision(_ devices: [(device: String, sensors: SensorRights)], rest: (url: String, token: String)) throws -> [(device: String, password: String)] {
        let entries: [[String: Any]] = devices.map { entry in ["device": entry.device, "sensors": entry.sensors.list ?? NSNull()] }
        let body = try JSONSerialization.data(withJSONObject: ["devices": entries])
        let answer = httpExchange("POST", rest.url + "/v1/devices/credentials",
                                  headers: [("Authorization", "Bearer \(rest.token)"), ("Content-Type", "application/json")], body: Array(body), timeout: 600)
        guard let answer, answer.status == 200,
              let credentials = (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])?["credentials"] as? [[String: Any]] else {
            throw BenchError("POST /v1/devices/credentials: \(answer.map { "\($0.status) \(String(decoding: $0.body.prefix(300), as: UTF8.self))" } ?? "no answer")")
        }
        return credentials.compactMap { entry in
            guard let device = entry["device"] as? String, let password = entry["password"] as? String else { return nil }
            return (device, password)
        }
    }

    func log(_ text: String) { FileHandle.standardError.write(Data("[credentials] \(text)\n".utf8)) }

    func run() throws {
        let connection = try StoreConnection(url: databaseURL)
        try DeviceCredentials.prepare(on: connection)
        try certificates?.prepare(databaseURL: databaseURL)
        var results: [Result] = []
        // Fleets grow (10,000 then 100,000): the larger one re-issues the smaller one's devices as rotations.
        for devices in fleets {
            let started = Date()
            let names = (0..<devices).map {
                (device: String(format: "fleet-%06d", $0), sensors: restrictedEvery > 0 && $0 % restrictedEvery == 1 ? SensorRights.only(["temperature"]) : .all)
            }
            var issued: [(device: String, password: String)] = []
            if let rest {
                issued = try Self.provision(names, rest: rest)
            } else {
                for batch in stride(from: 0, to: devices, by: 10_000) {
                    issued += try DeviceCredentials.issue(Array(names[batch..<min(devices, batch + 10_000)]), on: connection).map { ($0.credential.device, $0.password) }
                }
            }
            let provisioned = Date().timeIntervalSince(started)
            let last = issued[issued.count - 1]
            while !Self.accepts(port: port, username: last.device, password: last.password) {
                guard Date().timeIntervalSince(started) < 600 else { throw BenchError("the broker did not take \(devices) devices within 600 s") }
                Thread.sleep(forTimeInterval: 0.02)
            }
            let accepted = Date().timeIntervalSince(started)
            log(String(format: "%d devices provisioned in %.2f s, accepted by the broker %.2f s after the start", devices, provisioned, accepted))
            // Many devices connected, then one of them revoked.
            let holding = min(connected, devices)
            let connectStart = Date()
            var held: [RawConnection] = []
            for credential in issued.prefix(holding) {
                guard let open = try RawConnection.open(port: port, username: credential.device, password: credential.password) else {
                    throw BenchError("\(credential.device) refused")
                }
                held.append(open)
            }
            let connectSeconds = Date().timeIntervalSince(connectStart)
            let victim = held[0]
            let cpuBefore = brokerPID.map { processCPU($0) } ?? 0
            let revokeStart = Date()
            _ = try DeviceCredentials.revoke(device: issued[0].device, on: connection)
            guard victim.waitUntilClosed(timeout: 30) else { throw BenchError("the revoked device was still connected after 30 s") }
            let revoked = Date().timeIntervalSince(revokeStart)
            Thread.sleep(forTimeInterval: 1)  // the reload's CPU is spent by now; the rest of the fleet idles
            let cpu = (brokerPID.map { processCPU($0) } ?? 0) - cpuBefore
            let stillUp = held.dropFirst().filter { !$0.isClosed }.count
            for connection in held { connection.close() }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: ProcessInfo.processInfo.environment["BENCH_ACL_FILE"] ?? ""))?[.size] as? Int ?? 0
            log(String(format: "%d connected in %.2f s; revoked one: dropped after %.3f s, broker CPU %.2f s; %d of the other %d still connected",
                       holding, connectSeconds, revoked, cpu, stillUp, holding - 1))
            guard stillUp == holding - 1 else { throw BenchError("the reload dropped devices that were not revoked") }
            // The same with a certificate, the rest of the fleet still connected (the certificate's session takes
            // over the password session of its device: one client id per device).
            let certificateDevice = issued[1].device
            let certificate = try certificates?.measure(device: certificateDevice, databaseURL: databaseURL, brokerPID: brokerPID) {
                _ = try DeviceCredentials.revoke(device: certificateDevice, on: connection)
            }
            if let certificate {
                log(String(format: "a certificate revoked: dropped after %.3f s, broker CPU %.2f s, CRL %d bytes",
                           certificate.droppedAfter, certificate.reloadBrokerCPU, certificate.crlBytes))
            }
            results.append(Result(devices: devices, provisionSeconds: provisioned, acceptedAfter: accepted, connected: holding,
                                  connectSeconds: connectSeconds, revokedAfter: revoked, reloadBrokerCPU: cpu, fileBytes: bytes, certificate: certificate))
        }
        let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        print("Credentials benchmark, \(ISO8601DateFormatter().string(from: Date())), \(ProcessInfo.processInfo.activeProcessorCount) cores (\(machine)); mosquitto 2.0.11, password_file + acl_file, PBKDF2-SHA512 × 101; "
              + (rest == nil ? "provisioned through the library (DeviceCredentials.issue, 10,000 per call)" : "provisioned by one POST /v1/devices/credentials per fleet (telemetry query)"))
        print("")
        print(restrictedEvery == 0 ? "Every device is allowed every sensor type (the ACL's `pattern` lines)."
              : "Every \(restrictedEvery)th device is allowed one sensor type only (an ACL `user` block each); the others every type (the ACL's `pattern` lines).")
        print("")
        if let certificates {
            print("A certificate device: its credential revoked with the fleet connected and \(certificates.revoked) revoked certificates already in the CRL.")
            print("")
        }
        print("| devices | provisioned in | accepted by the broker after | ACL file | connected | revoked device dropped after | broker CPU for that reload | revoked certificate dropped after | broker CPU for that reload | CRL |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results {
            let certificate = r.certificate.map { String(format: "%.3f s | %.2f s | %.0f kB", $0.droppedAfter, $0.reloadBrokerCPU, Double($0.crlBytes) / 1e3) } ?? "- | - | -"
            print(String(format: "| %d | %.2f s | %.2f s | %.0f kB | %d (in %.1f s) | %.3f s | %.2f s | ", r.devices, r.provisionSeconds, r.acceptedAfter,
                         Double(r.fileBytes) / 1e3, r.connected, r.connectSeconds, r.revokedAfter, r.reloadBrokerCPU) + certificate + " |")
        }
    }
}

