// The dashboard's figures against a running platform (scripts/bench-dashboard.sh starts it): the
// overview's API calls with --devices devices, publish → live stream latency under a modest load at a
// socket client and (with --python, a Python with Selenium) in headless Chromium's live view, and what
// --streams idle streams cost the query process (memory, database connections).
//
//   DashboardBenchmark --port P --token T --database URL --mqtt URL --query-pid PID --catalog DIR
//                      [--devices 10000] [--iterations 100] [--probes 200] [--load 200] [--streams 1000]
//                      [--python PY [--browser-script Tests/Browser/live_latency.py] [--browser-rate 50] [--browser-readings 500]]
import Foundation
import MQTT
import Postgres
import SensorModel
import StorageWriter
import TestSupport

func option(_ name: String, _ fallback: String? = nil) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

func log(_ text: String) { FileHandle.standardError.write(Data("[bench] \(text)\n".utf8)) }

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

@Sendable func ms(_ duration: Duration) -> Double { Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15 }

guard let port = option("port").flatMap(Int.init), let token = option("token"), let database = option("database"),
      let mqttText = option("mqtt"), let queryPID = option("query-pid"), let catalogDirectory = option("catalog") else {
    log("usage: DashboardBenchmark --port P --token T --database URL --mqtt URL --query-pid PID --catalog DIR [...]")
    exit(2)
}
let devices = Int(option("devices", "10000")!)!
let iterations = Int(option("iterations", "100")!)!
let probes = Int(option("probes", "200")!)!
let load = Int(option("load", "200")!)!
let streamCount = Int(option("streams", "1000")!)!
let browserRate = Int(option("browser-rate", "50")!)!
let browserReadings = Int(option("browser-readings", "500")!)!
let catalog = try Catalog.load(directory: catalogDirectory)
let mqtt = try MQTTURL(parsing: mqttText)

// MARK: seed: devices spread over the sensor types, each with a reading every 10 minutes of the last hour

let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
let pg = try PGConnection(url: database)
let known = Int(try pg.query("SELECT count(*) FROM devices WHERE device LIKE 'bench-%'")[0, 0] ?? "0") ?? 0
if known < devices {
    let started = ContinuousClock.now
    for (index, sensor) in catalog.sensors.enumerated() {
        let writer = BatchWriter(connection: pg, sensor: sensor)
        let mine = stride(from: index, to: devices, by: catalog.sensors.count).map { String(format: "bench-%05d", $0) }
        for chunk in stride(from: 0, to: mine.count, by: 500) {
            var batch = IngestBatch(fieldCount: sensor.fields.count)
            for device in mine[chunk..<min(chunk + 500, mine.count)] {
                let first = batch.readings.count
                for step in 0..<6 {
                    let row = batch.readings.appendRow(time: now - Int64(step) * 600_000_000, seq: Int64(step))
                    for field in sensor.fields.indices { batch.readings.set(field: field, row: row, (sensor.fields[field].min + sensor.fields[field].max) / 2) }
                }
                batch.closeSpan(device: device, from: first)
            }
            _ = try writer.write(batch)
        }
    }
    log("seeded \(devices) devices × 6 readings in \(ContinuousClock.now - started)")
}

// MARK: the overview's API calls (what the overview screen requests: the catalog at sign-in, then the overview)

let client = try LoopbackHTTPConnection(port: port)
var totals: [Double] = [], overviewTimes: [Double] = []
for round in 0..<(iterations + 5) {
    let start = ContinuousClock.now
    let catalogAnswer = try client.getText("/v1/sensors", token: token)
    let middle = ContinuousClock.now
    let overview = try client.getText("/v1/overview", token: token)
    let end = ContinuousClock.now
    guard catalogAnswer.status == 200, overview.status == 200 else { log("overview: HTTP \(overview.status) \(overview.body)"); exit(1) }
    if round >= 5 {  // warm-up rounds left out
        totals.append(ms(end - start))
        overviewTimes.append(ms(end - middle))
    }
}
let overviewBody = try client.getText("/v1/overview", token: token).body
let counted = overviewBody.components(separatedBy: "\"devices\":").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }.reduce(0, +)

// MARK: what idle streams cost the query process

func rssKiB() -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(queryPID)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

func databaseConnections() throws -> Int {
    Int(try pg.query("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")[0, 0] ?? "") ?? -1
}

func openStreams() throws -> Int {
    let body = try client.getText("/v1/overview", token: token).body
    guard let range = body.range(of: "\"streams\":") else { return -1 }
    return Int(body[range.upperBound...].prefix { $0.isNumber }) ?? -1
}

let rssBefore = rssKiB(), connectionsBefore = try databaseConnections()
let streamsStarted = ContinuousClock.now
var streams: [LoopbackHTTPConnection] = []
let watched = catalog.sensors[0]
let watchedDevices = stride(from: 0, to: devices, by: catalog.sensors.count).map { String(format: "bench-%05d", $0) }
for index in 0..<streamCount {
    let stream = try LoopbackHTTPConnection(port: port)
    try stream.send(LoopbackHTTPConnection.request("/v1/sensors/\(watched.name)/devices/\(watchedDevices[index % watchedDevices.count])/stream", token: token))
    streams.append(stream)
}
for stream in streams {
    let (status, _) = try stream.head()
    guard status == 200 else { log("stream: HTTP \(status)"); exit(1) }
}
let openedIn = ContinuousClock.now - streamsStarted
let deadline = ContinuousClock.now + .seconds(30)
while try openStreams() < streamCount && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.1) }
Thread.sleep(forTimeInterval: 1)  // let allocations settle before reading RSS
let rssOpen = rssKiB(), connectionsOpen = try databaseConnections(), heldOpen = try openStreams()
streams.removeAll()  // closes every socket
let closeDeadline = ContinuousClock.now + .seconds(30)
while try openStreams() > 0 && ContinuousClock.now < closeDeadline { Thread.sleep(forTimeInterval: 0.1) }
let heldAfter = try openStreams(), rssAfter = rssKiB()

// MARK: publish → stream latency, one probe every 50 ms to one device while --load msg/s go to others

@Sendable func frame(seq: UInt32, time: Int64, values: [Float]) -> [UInt8] {
    var bytes: [UInt8] = [0x54, 0x4D, 1, 0, UInt8(values.count), 0, 1, 0]
    withUnsafeBytes(of: seq.littleEndian) { bytes += $0 }
    withUnsafeBytes(of: UInt64(bitPattern: time).littleEndian) { bytes += $0 }
    bytes += [0, 0, 0, 0]
    for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
    return bytes
}

let publisher = try MQTTClient(url: mqtt, options: .init(clientID: "bench-dashboard-\(getpid())"))
try publisher.start()
guard publisher.waitUntilReady(timeout: .seconds(10)) else { log("broker: \(publisher.lastError)"); exit(1) }
let probeDevice = "bench-probe"
let probeSensor = catalog.sensors.first { $0.fields.count == 1 } ?? catalog.sensors[0]
let probeValues = [Float](repeating: Float((probeSensor.fields[0].min + probeSensor.fields[0].max) / 2), count: probeSensor.fields.count)
_ = try publisher.publish(topic: "telemetry/\(probeSensor.name)/\(probeDevice)", payload: frame(seq: 0, time: now, values: probeValues), qos: 1)
let probeDeadline = ContinuousClock.now + .seconds(30)
while try client.getText("/v1/sensors/\(probeSensor.name)/devices/\(probeDevice)/latest", token: token).status != 200 && ContinuousClock.now < probeDeadline {
    Thread.sleep(forTimeInterval: 0.05)
}
let probeStream = try LoopbackHTTPConnection(port: port)
try probeStream.send(LoopbackHTTPConnection.request("/v1/sensors/\(probeSensor.name)/devices/\(probeDevice)/stream", token: token))
guard try probeStream.head().0 == 200 else { log("probe stream refused"); exit(1) }

let sentAt = NSLock()
nonisolated(unsafe) var sent: [Int: ContinuousClock.Instant] = [:]
nonisolated(unsafe) var latencies: [Double] = []
let received = DispatchSemaphore(value: 0)
Thread {
    while let line = try? probeStream.line() {
        guard line.hasPrefix("data:"), let range = line.range(of: "\"seq\":") else { continue }
        let arrived = ContinuousClock.now
        let seq = Int(line[range.upperBound...].prefix { $0.isNumber }) ?? -1
        sentAt.withLock { if let at = sent.removeValue(forKey: seq) { latencies.append(ms(arrived - at)) } }
        received.signal()
    }
}.start()
nonisolated(unsafe) var loadStopped = false
nonisolated(unsafe) var loadPublished = 0
let loadSensor = catalog.sensors.first { $0.name != probeSensor.name } ?? probeSensor
let loadStarted = ContinuousClock.now
let loadDone = DispatchSemaphore(value: 0)
Thread {
    let loadValues = [Float](repeating: Float((loadSensor.fields[0].min + loadSensor.fields[0].max) / 2), count: loadSensor.fields.count)
    var index = 0
    while !sentAt.withLock({ loadStopped }) {
        let due = loadStarted + .microseconds(Int64(index) * 1_000_000 / Int64(max(load, 1)))
        if ContinuousClock.now < due { Thread.sleep(forTimeInterval: 0.001); continue }
        let device = String(format: "bench-load-%03d", index % 100)
        if (try? publisher.publish(topic: "telemetry/\(loadSensor.name)/\(device)",
                                   payload: frame(seq: UInt32(index), time: Int64(Date().timeIntervalSince1970 * 1_000_000), values: loadValues), qos: 1)) != nil {
            sentAt.withLock { loadPublished += 1 }
        }
        index += 1
    }
    loadDone.signal()
}.start()
Thread.sleep(forTimeInterval: 2)  // the load reaches its rate
for seq in 1...probes {
    let time = Int64(Date().timeIntervalSince1970 * 1_000_000)
    sentAt.withLock { sent[seq] = ContinuousClock.now }
    _ = try publisher.publish(topic: "telemetry/\(probeSensor.name)/\(probeDevice)", payload: frame(seq: UInt32(seq), time: time, values: probeValues), qos: 1)
    Thread.sleep(forTimeInterval: 0.05)
}
let lastDeadline = ContinuousClock.now + .seconds(10)
while sentAt.withLock({ !sent.isEmpty }) && ContinuousClock.now < lastDeadline { _ = received.wait(timeout: .now() + 0.1) }
let missing = sentAt.withLock { sent.count }
let measured = sentAt.withLock { latencies }

// MARK: publish → browser: a real Chromium's live view of the probe device, the load still running

let inBrowser = try option("python").map { python in
    try BrowserLatency.measure(
        python: python, script: option("browser-script") ?? "Tests/Browser/live_latency.py", url: "http://127.0.0.1:\(port)", token: token,
        sensor: probeSensor.name, device: probeDevice, rate: browserRate, count: browserReadings
    ) { seq, time in
        _ = try publisher.publish(
            topic: "telemetry/\(probeSensor.name)/\(probeDevice)", payload: frame(seq: seq, time: time, values: probeValues), qos: 1)
    }
}
sentAt.withLock { loadStopped = true }
loadDone.wait()
let loadAchieved = Double(sentAt.withLock { loadPublished }) / ((ContinuousClock.now - loadStarted) / .seconds(1))

// MARK: the report

print("""
    | measure | p50 | p99 | runs |
    |---|---:|---:|---:|
    | overview screen's API calls (GET /v1/sensors + GET /v1/overview), \(counted) devices | \(String(format: "%.2f", percentile(totals, 0.5))) ms | \(String(format: "%.2f", percentile(totals, 0.99))) ms | \(totals.count) |
    | GET /v1/overview alone | \(String(format: "%.2f", percentile(overviewTimes, 0.5))) ms | \(String(format: "%.2f", percentile(overviewTimes, 0.99))) ms | \(overviewTimes.count) |
    | publish → SSE client, probe every 50 ms, \(load) msg/s of load | \(String(format: "%.1f", percentile(measured, 0.5))) ms | \(String(format: "%.1f", percentile(measured, 0.99))) ms | \(measured.count) (max \(String(format: "%.1f", measured.max() ?? .nan)) ms, \(missing) missing) |
    \(inBrowser?.tableRows(load: load) ?? "| publish → browser: not measured (no --python) | | | |")

    \(streamCount) idle streams: opened in \(openedIn); the query process held \(heldOpen) streams, RSS \(rssBefore / 1024) MiB before, \
    \(rssOpen / 1024) MiB with them (\(String(format: "%.1f", Double(rssOpen - rssBefore) / Double(max(streamCount, 1)))) KiB each), \
    \(rssAfter / 1024) MiB after they closed (\(heldAfter) held); database connections \(connectionsBefore) before, \(connectionsOpen) with them.

    Load generator: \(load) msg/s requested to 100 other devices, \(String(format: "%.1f", loadAchieved)) msg/s achieved over the socket and \
    browser runs\(inBrowser.map { "; the browser's device \($0.requestedRate) msg/s requested, \(String(format: "%.1f", $0.achievedRate)) achieved" } ?? "").
    """)
exit(0)
