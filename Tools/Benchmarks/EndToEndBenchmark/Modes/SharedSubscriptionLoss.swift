import Foundation
import MQTT

/// What a broker restart under load costs with a plain subscription (one service) and with `$share` (two
/// replicas): mosquitto 2.0.11 restores plain subscriptions of offline persistent sessions from its
/// persistence file but not shared ones, so what is published between the restart and the replicas'
/// resubscribe has no subscriber. Two cases: the services keep running through the restart (the window is
/// their reconnect), and they are down across it for `serviceDown` seconds (a host reboot, a deploy at the
/// same time). The load is `telemetry emulate` (it reconnects on its own and counts the broker's
/// acknowledgements); its `--verify` finds what is missing.
struct SharedSubscriptionLoss {
    let benchmark: ModesBenchmark
    let messagesPerSecond = 2000
    let seconds = 20.0
    let serviceDown = 5.0

    struct Result {
        var replicas: Int
        /// Seconds the services were stopped across the broker restart (0: they ran through it).
        var servicesDown: Double
        /// From the broker accepting again until every replica had subscribed again (/readyz).
        var resubscribeSeconds: Double
        var acknowledged: Int
        var stored: Int
        var missing: Int
        var brokerDownSeconds: Double
        var messagesPerSecond: Int
        /// The missing messages at the load's rate: how long nothing was subscribed.
        var windowSeconds: Double { Double(missing) / Double(messagesPerSecond) }
    }

    func measure(sensor: String) throws -> [Result] {
        guard let conf = benchmark.environment["BENCH_MOSQUITTO_CONF"], let mosquitto = benchmark.environment["BENCH_MOSQUITTO_BIN"],
              let pidFile = benchmark.environment["BENCH_MOSQUITTO_PID_FILE"] else {
            benchmark.log("BENCH_MOSQUITTO_CONF/_BIN/_PID_FILE not set: no broker restart measured")
            return []
        }
        var results: [Result] = []
        for (replicas, servicesDown) in [(1, 0.0), (2, 0.0), (1, serviceDown), (2, serviceDown)] {
            var down = 0.0, resubscribed = 0.0
            let label = "loss-\(replicas)-\(Int(servicesDown))"
            let row = try benchmark.replicas(sensor, count: replicas, label: label) { runner in
                try runner.stored.reset()
                let log = "\(benchmark.logDirectory)/\(label)-emulator.log"
                let emulator = try BenchProcess(
                    benchmark.binary, arguments: [
                        "emulate", "--sensor", sensor, "--devices", "100", "--samples", "1", "--rate", String(messagesPerSecond),
                        "--duration", String(seconds), "--qos", "1", "--device-prefix", label, "--verify", "--verify-timeout", "60",
                    ],
                    environment: ["TELEMETRY_MQTT_URL": benchmark.mqtt.description, "TELEMETRY_DATABASE_URL": runner.platform.databaseURL,
                                  "TELEMETRY_CATALOG": benchmark.catalogPath],
                    log: log)
                Thread.sleep(forTimeInterval: seconds / 3)
                if servicesDown > 0 { for part in runner.platform.parts { part.process.stop() } }
                down = try restartBroker(conf: conf, binary: mosquitto, pidFile: pidFile, log: "\(benchmark.logDirectory)/\(label)-mosquitto.log")
                let up = Date()
                if servicesDown > 0 {
                    Thread.sleep(forTimeInterval: servicesDown)
                    for part in runner.platform.parts { try runner.platform.restart(part) }
                } else {
                    for part in runner.platform.parts { try runner.platform.waitUntilReady(part) }
                }
                resubscribed = Date().timeIntervalSince(up)
                emulator.process.waitUntilExit()
                return verifyRow((try? String(contentsOfFile: log, encoding: .utf8)) ?? "", sensor: sensor)
            }
            guard row.count == 4 else { throw BenchError("\(label): no verify table; see \(label)-emulator.log") }
            let result = Result(replicas: replicas, servicesDown: servicesDown, resubscribeSeconds: resubscribed, acknowledged: row[0], stored: row[1],
                                missing: row[2], brokerDownSeconds: down, messagesPerSecond: messagesPerSecond)
            benchmark.log(String(format: "broker restart, %d replica(s)%@, services %@: %d acknowledged, %d stored, %d missing (%.2f s of load), broker down %.2f s, subscribed again %.2f s after",
                                 replicas, replicas > 1 ? " on $share" : "", servicesDown > 0 ? "down \(Int(servicesDown)) s across it" : "running",
                                 result.acknowledged, result.stored, result.missing, result.windowSeconds, down, resubscribed))
            results.append(result)
        }
        return results
    }

    /// SIGTERM (mosquitto saves its persistence file), then the same config again, its output in `log` (one
    /// per case: with `log_type all` it shows what the broker accepted before the replicas subscribed again);
    /// the seconds it was down.
    private func restartBroker(conf: String, binary: String, pidFile: String, log: String) throws -> Double {
        guard let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
            throw BenchError("no broker pid in \(pidFile)")
        }
        let start = Date()
        kill(pid, SIGTERM)
        while kill(pid, 0) == 0 { Thread.sleep(forTimeInterval: 0.01) }
        // In the foreground, as scripts/lib.sh starts it (its cleanup stops every broker of this config).
        let broker = Process()
        broker.executableURL = URL(fileURLWithPath: binary)
        broker.arguments = ["-c", conf]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        broker.standardOutput = FileHandle(forWritingAtPath: log)
        broker.standardError = broker.standardOutput
        broker.standardInput = FileHandle.nullDevice
        try broker.run()
        try String(broker.processIdentifier).write(toFile: pidFile, atomically: true, encoding: .utf8)
        let deadline = Date().addingTimeInterval(30)
        while (try? MQTTClient(url: benchmark.mqtt, options: .init(clientID: "bench-probe-\(getpid())", cleanSession: true))).map(probe) != true {
            guard Date() < deadline else { throw BenchError("broker not back within 30 s") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return Date().timeIntervalSince(start)
    }

    private func probe(_ client: MQTTClient) -> Bool {
        defer { client.stop() }
        guard (try? client.start()) != nil else { return false }
        return client.waitUntilReady(timeout: .seconds(1))
    }

    /// The verify table's row of `sensor`: sent, stored, missing, duplicated.
    private func verifyRow(_ output: String, sensor: String) -> [Int] {
        guard let header = output.range(of: "sensor          sent") else { return [] }
        for line in output[header.upperBound...].split(separator: "\n").dropFirst() {
            let parts = line.split(separator: " ")
            if parts.count == 5, parts[0] == sensor.prefix(14) { return parts.dropFirst().compactMap { Int($0) } }
        }
        return []
    }
}
