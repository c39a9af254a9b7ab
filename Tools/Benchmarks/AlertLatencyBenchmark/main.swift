// Alert latency (issue 21): from the publication of a reading that breaches a rule to the webhook POST of
// its `raised` event, at 10,000 readings/s with 1,000 rules, against the real pipeline: mosquitto, one
// `telemetry ingest --sensor temperature` (started by scripts/bench-alerts.sh, its pid given here),
// PostgreSQL, and a webhook receiver in this process. Also what the rules cost: the ingest service's CPU at
// the same load without rules first.
//
//   AlertLatencyBenchmark --mqtt URL --database URL --ingest-pid PID --broker-pid PID --postmaster-pid PID
//                         [--rate 10000] [--devices 1000]
//                         [--rules 1000] [--breaches-per-second 20] [--seconds 60] [--baseline-seconds 30]
//
// Load: one reading per message (the `text` format, timed on arrival), round robin over the devices from two
// publisher threads, paced in 10 ms ticks, QoS 1. Every rule watches one device: above 50, cleared at 40 or
// below. A breach is one message of 60 for a device; its next message (20.5) clears it. Latency is the
// webhook's arrival minus the breaching message's publish call, on one clock (this process's).
import Foundation
import Hummingbird
import MQTT
import Postgres
import StorageCore
import StorageEvents
import StorageOperations
import Synchronization
import TestSupport

func option(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

func log(_ text: String) { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }
func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

let mqttURL = try MQTTURL(parsing: option("mqtt", ""))
let databaseURL = option("database", "")
let ingestPID = Int32(option("ingest-pid", "0"))!
let brokerPID = Int32(option("broker-pid", "0"))!
let postmasterPID = Int32(option("postmaster-pid", "0"))!
let rate = Int(option("rate", "10000"))!
let deviceCount = Int(option("devices", "1000"))!
let ruleCount = Int(option("rules", "1000"))!
let breachesPerSecond = Double(option("breaches-per-second", "20"))!
let seconds = Double(option("seconds", "60"))!
let baselineSeconds = Double(option("baseline-seconds", "30"))!
let devices = (0..<deviceCount).map { "alert-bench-\(String(format: "%05d", $0))" }

// MARK: webhook receiver

final class Received: Sendable {
    /// Per device, the publish times of its breaches not yet raised, oldest first.
    let pending = Mutex<[String: [Double]]>([:])
    let latencies = Mutex<[Double]>([])
    let keys = Mutex<Set<String>>([])
    let duplicates = Atomic<Int>(0)
    let unmatched = Atomic<Int>(0)
    let cleared = Atomic<Int>(0)
}
let received = Received()
let hookPort = try freeLoopbackPort()
let router = Router()
router.post("/hook") { request, _ -> HTTPResponse.Status in
    let buffer = try await request.body.collect(upTo: 1 << 20)
    let arrived = monotonic()
    let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
    guard let device = object["device"] as? String, let event = object["event"] as? String, let id = object["id"] as? String else { return .badRequest }
    guard received.keys.withLock({ $0.insert("\(id):\(event)").inserted }) else {
        received.duplicates.add(1, ordering: .relaxed)
        return .ok
    }
    if event == "cleared" { received.cleared.add(1, ordering: .relaxed) }
    guard event == "raised" else { return .ok }
    let published: Double? = received.pending.withLock { pending in
        guard var times = pending[device], !times.isEmpty else { return nil }
        let first = times.removeFirst()
        pending[device] = times
        return first
    }
    if let published { received.latencies.withLock { $0.append(arrived - published) } } else { received.unmatched.add(1, ordering: .relaxed) }
    return .ok
}
// Detached: top-level code runs on the main actor, whose thread the load below blocks.
let application = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: hookPort)))
let receiver = Task.detached { try await application.runService(gracefulShutdownSignals: []) }

// MARK: load

final class Load: Sendable {
    let published = Atomic<Int>(0)
    let breaches = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    /// Devices whose next message is a breach.
    let breachNext = Mutex<Set<Int>>([])
    let stop = Atomic<Bool>(false)
}

/// Publishes at `rate` for `duration` seconds from two threads; breaches `breachesPerSecond` devices a second
/// when `breaching`. Returns (seconds, messages, generator CPU seconds).
func run(duration: Double, breaching: Bool) throws -> (seconds: Double, messages: Int, cpu: Double) {
    let load = Load()
    let threads = 2
    let clients = try (0..<threads).map { n in
        let client = try MQTTClient(url: mqttURL, options: .init(clientID: "alert-bench-\(n)-\(UUID().uuidString.prefix(6))", maxInflight: 2000))
        try client.start()
        guard client.waitUntilReady(timeout: .seconds(10)) else { throw TestSupportError("cannot connect to the broker: \(client.lastError)") }
        return client
    }
    defer { clients.forEach { $0.stop() } }
    let cpuBefore = ownCPUSeconds()
    let start = monotonic()
    let done = DispatchGroup()
    for n in 0..<threads {
        done.enter()
        let client = clients[n]
        Thread {
            defer { done.leave() }
            let perTick = Double(rate) / Double(threads) / 100
            var owed = 0.0
            var next = n  // this thread's devices: n, n + threads, ...
            var tick = start
            while !load.stop.load(ordering: .relaxed) {
                let now = monotonic()
                if now - start >= duration { break }
                if now < tick { usleep(UInt32(max(0, (tick - now) * 1e6))); continue }
                tick += 0.01
                owed += perTick
                while owed >= 1 {
                    owed -= 1
                    let index = next
                    next = (next + threads) % deviceCount
                    let breach = breaching && load.breachNext.withLock { $0.remove(index) != nil }
                    if breach {
                        let at = monotonic()
                        received.pending.withLock { $0[devices[index], default: []].append(at) }
                        load.breaches.add(1, ordering: .relaxed)
                    }
                    do {
                        try client.publish(topic: "telemetry/temperature/\(devices[index])/text", payload: Array((breach ? "60" : "20.5").utf8), qos: 1)
                        load.published.add(1, ordering: .relaxed)
                    } catch {
                        load.failures.add(1, ordering: .relaxed)
                    }
                }
            }
        }.start()
    }
    if breaching {
        // Breaches spread over the devices: the next device in a stride that visits each one in turn.
        var chosen = 0
        while monotonic() - start < duration - 2 {
            load.breachNext.withLock { _ = $0.insert(chosen) }
            chosen = (chosen + 7) % deviceCount
            usleep(UInt32(1e6 / breachesPerSecond))
        }
    }
    done.wait()
    let elapsed = monotonic() - start
    for client in clients {
        _ = try? eventually(timeout: .seconds(30)) { client.inflight == 0 }
    }
    if load.failures.load(ordering: .relaxed) > 0 { log("\(load.failures.load(ordering: .relaxed)) publishes failed") }
    return (elapsed, load.published.load(ordering: .relaxed), ownCPUSeconds() - cpuBefore)
}

func eventually(timeout: Duration, _ condition: () throws -> Bool) throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}

// MARK: the runs

let store = try StoreConnection(url: databaseURL)
let pg = store.pg
func storedReadings() throws -> Int { Int(try pg.execute("SELECT count(*) FROM temperature")[0, 0] ?? "0") ?? 0 }
func waitUntilStored(_ expected: Int) throws -> Bool { try eventually(timeout: .seconds(120)) { try storedReadings() >= expected } }

struct Phase {
    var name: String
    var seconds: Double
    var messages: Int
    var generatorCPU: Double
    var ingestCPU: Double
    var brokerCPU: Double
    var postgresCPU: Double
}
var phases: [Phase] = []

@MainActor func measure(_ name: String, duration: Double, breaching: Bool) throws {
    let storedBefore = try storedReadings()
    let before = (processCPU(ingestPID), processCPU(brokerPID), postgresCPU(postmaster: postmasterPID))
    let (elapsed, messages, generatorCPU) = try run(duration: duration, breaching: breaching)
    guard try waitUntilStored(storedBefore + messages) else { throw TestSupportError("\(name): not every reading was stored within 120 s") }
    phases.append(Phase(
        name: name, seconds: elapsed, messages: messages, generatorCPU: generatorCPU, ingestCPU: processCPU(ingestPID) - before.0,
        brokerCPU: processCPU(brokerPID) - before.1, postgresCPU: postgresCPU(postmaster: postmasterPID) - before.2))
    log("\(name): \(messages) readings in \(String(format: "%.1f", elapsed)) s")
}

_ = try pg.execute("DELETE FROM alert_rules; DELETE FROM alert_episodes; DELETE FROM alert_outbox; DELETE FROM alert_state; \(AlertRules.bumpVersion)")
log("warming up (devices made, partitions ready)")
try measure("warm-up", duration: 10, breaching: false)
phases.removeAll()
try measure("no rules", duration: baselineSeconds, breaching: false)
for n in 0..<ruleCount {
    _ = try AlertStore.create(AlertRule(
        name: "bench \(n)", sensor: "temperature", condition: .above, field: "celsius", threshold: 50, clearThreshold: 40,
        device: devices[n % deviceCount], webhook: "http://127.0.0.1:\(hookPort)/hook"), on: store)
}
log("\(ruleCount) rules made; the writer takes them within a second")
sleep(2)
try measure("\(ruleCount) rules", duration: seconds, breaching: true)
let breaches = received.pending.withLock { $0.values.reduce(0) { $0 + $1.count } } + received.latencies.withLock { $0.count }
_ = try eventually(timeout: .seconds(30)) { received.latencies.withLock { $0.count } + received.unmatched.load(ordering: .relaxed) >= breaches }
let episodes = Int(try pg.execute("SELECT count(*) FROM alert_episodes")[0, 0] ?? "0") ?? 0
receiver.cancel()

// MARK: report

let latencies = received.latencies.withLock { $0 }.sorted()
func percentile(_ p: Double) -> String {
    guard !latencies.isEmpty else { return "–" }
    return String(format: "%.0f ms", latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] * 1000)
}
let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) } ?? "?"
print("Alert latency, \(ISO8601DateFormatter().string(from: Date())), \(ProcessInfo.processInfo.activeProcessorCount) cores (\(machine))")
print("")
print("| run | requested | achieved | generator CPU (this process, with the webhook receiver) | ingest CPU | PostgreSQL CPU | broker CPU | CPU s per million readings: ingest + PostgreSQL + broker |")
print("|---|---|---|---|---|---|---|---|")
for phase in phases {
    let achieved = Double(phase.messages) / phase.seconds
    let perMillion = 1e6 / Double(phase.messages)
    print(String(format: "| %@ | %d readings/s | %.0f readings/s (%d in %.1f s) | %.0f%% of a core | %.0f%% | %.0f%% | %.0f%% | %.1f + %.1f + %.1f = %.1f |",
                 phase.name, rate, achieved, phase.messages, phase.seconds, phase.generatorCPU / phase.seconds * 100,
                 phase.ingestCPU / phase.seconds * 100, phase.postgresCPU / phase.seconds * 100, phase.brokerCPU / phase.seconds * 100,
                 phase.ingestCPU * perMillion, phase.postgresCPU * perMillion, phase.brokerCPU * perMillion,
                 (phase.ingestCPU + phase.postgresCPU + phase.brokerCPU) * perMillion))
}
print("")
print("| breaches sent | episodes raised | raised events at the webhook | unmatched | duplicate deliveries | cleared events | p50 | p90 | p99 | max |")
print("|---|---|---|---|---|---|---|---|---|---|")
print("| \(breaches) | \(episodes) | \(latencies.count) | \(received.unmatched.load(ordering: .relaxed)) | \(received.duplicates.load(ordering: .relaxed)) | \(received.cleared.load(ordering: .relaxed)) | \(percentile(0.5)) | \(percentile(0.9)) | \(percentile(0.99)) | \(latencies.last.map { String(format: "%.0f ms", $0 * 1000) } ?? "–") |")
