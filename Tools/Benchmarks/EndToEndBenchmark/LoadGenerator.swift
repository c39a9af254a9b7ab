import CMosquitto
import Foundation
import MQTT
import Synchronization
import TestSupport

/// Wall-clock microseconds since 1970: what a device stamps into a frame, and what PostgreSQL's commit
/// timestamps are, so that publish→commit latency is one subtraction on the same clock.
func wallMicros() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
}

func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// What to publish: `messages` pre-encoded `tm` frames of `samples` float32 samples, round robin over
/// `devices` devices spread over `connections` libmosquitto connections, QoS 1, at `rate` messages per
/// second in total (nil: as fast as each connection's in-flight window allows).
struct LoadSpec {
    var mqtt: MQTTURL
    /// Topics are `<topicRoot>/<devicePrefix>-<n>`.
    var topicRoot: String
    var devicePrefix: String
    var devices = 1000
    var samples: Int
    var fields = 1
    var rate: Double?
    var messages: Int
    var connections = 2
    /// QoS 1 publishes a connection may have unacknowledged before it waits.
    var window = 500
    /// Each field's value in the first sample (later samples add 0.1 each); nil: 21.5 + the field's index.
    var values: [Float]? = nil
    /// Device id → password: each connection then logs in as its one device (connections = devices), as a
    /// fleet does when the broker checks credentials and ACLs; nil: `mqtt`'s user name, if any, for all.
    var passwords: [String: String]? = nil
}

struct LoadReport {
    var requestedRate: Double?
    var published = 0
    var acknowledged = 0
    var samples = 1
    /// Wall clock (µs) just before the first publish and after the last acknowledgement.
    var startMicros: Int64 = 0
    var endMicros: Int64 = 0
    /// First publish to last publish, and to the last acknowledgement.
    var publishSeconds = 0.0
    var seconds = 0.0
    /// CPU of the whole benchmark process while it ran (the publisher threads and nothing else busy).
    var cpuSeconds = 0.0
    /// Longest time any connection's in-flight window was full while messages were due (broker pushback).
    var windowFullSeconds = 0.0
    /// Worst lag behind the schedule, in ms (0 when it always published on time).
    var maxLagMilliseconds = 0.0
    var failure: String?
    /// The last message of each connection: its device and its (base) time in µs.
    var lastMessages: [(device: String, micros: Int64)] = []

    var achievedRate: Double { publishSeconds > 0 ? Double(published) / publishSeconds : 0 }
    var acknowledgedReadings: Int { acknowledged * samples }
    /// Cores the load generator used: its CPU over the run's wall time.
    var cores: Double { seconds > 0 ? cpuSeconds / seconds : 0 }

    var summary: String {
        let requested = requestedRate.map { String(format: "%.0f msg/s (%.0f readings/s)", $0, $0 * Double(samples)) } ?? "unpaced"
        return String(format: "load generator: requested %@, achieved %.0f msg/s (%.0f readings/s), %d published, %d acknowledged, "
                      + "CPU %.2f s = %.2f core, window full %.2f s, max lag %.1f ms",
                      requested, achievedRate, achievedRate * Double(samples), published, acknowledged, cpuSeconds, cores,
                      windowFullSeconds, maxLagMilliseconds)
    }
}

/// A minimal load generator written directly on libmosquitto: one thread per connection runs its own
/// network loop (no library thread, no locks), publishes frames whose bytes are patched in place (sequence
/// number and base time = the wall clock at publish, µs), and paces itself to a schedule.
func generateLoad(_ spec: LoadSpec) throws -> LoadReport { try generateLoad([spec])[0] }

/// Several loads at once (e.g. one per sensor type), started on the same schedule; one report each. Each
/// report's CPU is the whole generator's (the publisher threads of every load and nothing else busy).
func generateLoad(_ specs: [LoadSpec]) throws -> [LoadReport] {
    var connections: [[PublisherConnection]] = []
    for spec in specs {
        let count = max(1, min(spec.connections, spec.devices))
        connections.append(try (0..<count).map { number in
            let devices = Array(stride(from: number, to: spec.devices, by: count))
            let share = spec.messages / count + (number < spec.messages % count ? 1 : 0)
            return try PublisherConnection(spec: spec, number: number, devices: devices, messages: share)
        })
    }
    let cpuBefore = ownCPUSeconds()
    let startMicros = wallMicros()
    let start = monotonicNanos() + 5_000_000
    let group = DispatchGroup()
    for (spec, ofSpec) in zip(specs, connections) {
        let perConnection = spec.rate.map { $0 / Double(ofSpec.count) }
        for connection in ofSpec {
            group.enter()
            let thread = Thread {
                connection.run(start: start, ratePerSecond: perConnection)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
    group.wait()
    let cpuSeconds = ownCPUSeconds() - cpuBefore
    let endMicros = wallMicros()
    return zip(specs, connections).map { spec, ofSpec in
        var report = LoadReport(requestedRate: spec.rate, samples: spec.samples)
        report.cpuSeconds = cpuSeconds
        report.startMicros = startMicros
        report.endMicros = endMicros
        for connection in ofSpec {
            report.published += connection.sent
            report.acknowledged += connection.acked
            report.publishSeconds = max(report.publishSeconds, Double(connection.lastPublish &- start) / 1e9)
            report.seconds = max(report.seconds, Double(connection.lastAck &- start) / 1e9)
            report.windowFullSeconds = max(report.windowFullSeconds, Double(connection.windowFullNanos) / 1e9)
            report.maxLagMilliseconds = max(report.maxLagMilliseconds, Double(connection.maxLagNanos) / 1e6)
            if let failure = connection.failure { report.failure = failure }
            if let last = connection.lastMessage { report.lastMessages.append(last) }
            connection.close()
        }
        return report
    }
}

/// One libmosquitto connection driven by one thread (the library in its non-threaded mode).
final class PublisherConnection: @unchecked Sendable {
    private let handle: OpaquePointer
    private let spec: LoadSpec
    private let messages: Int
    private var topics: [UnsafeMutablePointer<CChar>] = []
    private var lastBase: [Int64]
    private var sequence: [UInt32]
    private var frame: [UInt8]
    // Only the connection's own thread touches these until `run` returns.
    var connected = false
    var sent = 0
    var acked = 0
    var lastPublish: UInt64 = 0
    var lastAck: UInt64 = 0
    var windowFullNanos: UInt64 = 0
    var maxLagNanos: UInt64 = 0
    var failure: String?
    var lastMessage: (device: String, micros: Int64)?

    init(spec: LoadSpec, number: Int, devices: [Int], messages: Int) throws {
        _ = Self.libraryReady
        self.spec = spec
        self.messages = messages
        guard let handle = mosquitto_new("bench-load-\(getpid())-\(number)-\(UInt32.random(in: 0...UInt32.max))", true, nil) else {
            throw BenchError("mosquitto_new failed")
        }
        self.handle = handle
        topics = devices.map { strdup("\(spec.topicRoot)/\(spec.devicePrefix)-\(String(format: "%04ld", $0))")! }
        lastBase = Array(repeating: 0, count: devices.count)
        sequence = Array(repeating: 0, count: devices.count)
        // The tm frame: header, then per sample a uint32 µs offset and `fields` float32 values.
        let stride = 4 + 4 * spec.fields
        frame = [UInt8](repeating: 0, count: 20 + spec.samples * stride)
        frame[0] = 0x54; frame[1] = 0x4D; frame[2] = 1; frame[3] = 0
        frame[4] = UInt8(spec.fields); frame[5] = 0
        frame[6] = UInt8(spec.samples & 0xFF); frame[7] = UInt8(spec.samples >> 8)
        for sample in 0..<spec.samples {
            let at = 20 + sample * stride
            store(UInt32(sample), at: at)  // offsets of 1 µs: every reading's time is its publish time
            for field in 0..<spec.fields {
                let first = spec.values?[field] ?? 21.5 + Float(field)
                store((first + Float(sample) * 0.1).bitPattern, at: at + 4 + 4 * field)
            }
        }
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_max_inflight_messages_set(handle, UInt32(spec.window))
        if let passwords = spec.passwords {
            let device = "\(spec.devicePrefix)-\(String(format: "%04ld", devices[0]))"
            guard devices.count == 1, let password = passwords[device] else {
                throw BenchError("with passwords every connection is one device: \(devices.count) devices on connection \(number), password for \(device): \(passwords[device] != nil)")
            }
            mosquitto_username_pw_set(handle, device, password)
        } else if let username = spec.mqtt.username {
            mosquitto_username_pw_set(handle, username, spec.mqtt.password)
        }
        if spec.mqtt.tls {
            // Verifies the broker's certificate against the CA, as a device does.
            guard mosquitto_tls_set(handle, spec.mqtt.caFile, spec.mqtt.caFile == nil ? "/etc/ssl/certs" : nil, nil, nil, nil) == MOSQ_ERR_SUCCESS.rawValue else {
                throw BenchError("TLS setup failed (CA file \(spec.mqtt.caFile ?? "none"))")
            }
        }
        mosquitto_connect_callback_set(handle) { _, userdata, rc in
            let connection = Unmanaged<PublisherConnection>.fromOpaque(userdata!).takeUnretainedValue()
            if rc == 0 { connection.connected = true } else { connection.failure = "connection refused (\(rc))" }
        }
        mosquitto_publish_callback_set(handle) { _, userdata, _ in
            let connection = Unmanaged<PublisherConnection>.fromOpaque(userdata!).takeUnretainedValue()
            connection.acked += 1
            connection.lastAck = monotonicNanos()
        }
        var rc = mosquitto_connect(handle, spec.mqtt.host, spec.mqtt.port, 60)
        let deadline = monotonicNanos() + 10_000_000_000
        while rc == MOSQ_ERR_SUCCESS.rawValue && !connected && failure == nil && monotonicNanos() < deadline {
            rc = mosquitto_loop(handle, 50, 1)
        }
        guard connected else { throw BenchError("load generator cannot connect to \(spec.mqtt): \(failure ?? "rc \(rc)")") }
    }

    private static let libraryReady: Bool = { mosquitto_lib_init(); return true }()

    private func store(_ value: UInt32, at offset: Int) {
        for byte in 0..<4 { frame[offset + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
    }

    private func publishNext() -> Bool {
        let slot = sent % topics.count
        var base = wallMicros()
        if base < lastBase[slot] + Int64(spec.samples) { base = lastBase[slot] + Int64(spec.samples) }
        lastBase[slot] = base
        sequence[slot] &+= 1
        store(sequence[slot], at: 8)
        store(UInt32(truncatingIfNeeded: base), at: 12)
        store(UInt32(truncatingIfNeeded: base >> 32), at: 16)
        let rc = frame.withUnsafeBytes { bytes in
            mosquitto_publish(handle, nil, topics[slot], Int32(bytes.count), bytes.baseAddress, 1, false)
        }
        guard rc == MOSQ_ERR_SUCCESS.rawValue else {
            failure = "publish failed: \(String(cString: mosquitto_strerror(rc)))"
            return false
        }
        sent += 1
        lastPublish = monotonicNanos()
        if sent == messages { lastMessage = (String(cString: topics[slot]).split(separator: "/").last.map(String.init) ?? "", base) }
        return true
    }

    /// Publishes this connection's share on the schedule (message i due at start + i / rate), then waits
    /// (at most 120 s) for the last acknowledgement.
    func run(start: UInt64, ratePerSecond: Double?) {
        while monotonicNanos() < start { usleep(200) }
        let interval = ratePerSecond.map { 1e9 / $0 }
        let socket = mosquitto_socket(handle)
        var lastMisc = monotonicNanos()
        var fullSince: UInt64?
        while failure == nil {
            let now = monotonicNanos()
            var due = messages
            if let interval { due = min(messages, Int(Double(now - start) / interval) + 1) }
            if sent >= messages && acked >= sent { break }
            if let interval, sent < due {
                // How long the oldest due message has waited (CPU starvation or a full window).
                let scheduled = start + UInt64(Double(sent) * interval)
                if now > scheduled { maxLagNanos = max(maxLagNanos, now - scheduled) }
            }
            while sent < due && sent - acked < spec.window {
                if !publishNext() { break }
            }
            let windowFull = sent < due
            if windowFull {
                if fullSince == nil { fullSince = now }
            } else if let since = fullSince {
                windowFullNanos += now - since
                fullSince = nil
            }
            if sent >= messages && now > lastPublish + 120_000_000_000 {
                failure = "\(sent - acked) publishes not acknowledged within 120 s"
                break
            }
            // Sleep until the next message is due, or an acknowledgement arrives (or the socket can take
            // more, when the library still holds unsent bytes).
            // At least 1 ms between wake-ups: what is due by then goes out as one burst (a wake-up per message
            // would cost the generator more CPU than the messages themselves).
            var waitMilliseconds: Int32 = 100
            if let interval, sent < messages, !windowFull {
                let next = start + UInt64(Double(sent) * interval)
                waitMilliseconds = Int32(clamping: max(1, (next > now ? next - now : 0) / 1_000_000))
            }
            var poller = pollfd(fd: socket, events: Int16(POLLIN) | (mosquitto_want_write(handle) ? Int16(POLLOUT) : 0), revents: 0)
            let ready = poll(&poller, 1, waitMilliseconds)
            if ready > 0 {
                // libmosquitto stops reading after one packet when errno still says EAGAIN from its own
                // wake-up pipe (full in this non-threaded use): clear it so one call reads every ack waiting.
                errno = 0
                if poller.revents & Int16(POLLIN) != 0, !check(mosquitto_loop_read(handle, 1000)) { break }
                if poller.revents & Int16(POLLOUT) != 0, !check(mosquitto_loop_write(handle, 1000)) { break }
                if poller.revents & Int16(POLLERR | POLLHUP) != 0 { failure = "connection to the broker lost"; break }
            }
            if mosquitto_want_write(handle), !check(mosquitto_loop_write(handle, 1000)) { break }
            if now > lastMisc + 1_000_000_000 {
                lastMisc = now
                if !check(mosquitto_loop_misc(handle)) { break }
            }
        }
        if let since = fullSince { windowFullNanos += monotonicNanos() - since }
    }

    private func check(_ rc: Int32) -> Bool {
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return true }
        failure = "libmosquitto: \(String(cString: mosquitto_strerror(rc)))"
        return false
    }

    func close() {
        mosquitto_disconnect(handle)
        _ = mosquitto_loop(handle, 10, 1)
        mosquitto_destroy(handle)
        topics.forEach { free($0) }
        topics = []
    }
}

/// A minimal QoS 1 subscriber that only counts (the broker-alone case), on libmosquitto's own thread.
final class CountingSubscriber: @unchecked Sendable {
    private let handle: OpaquePointer
    private let filter: String
    let received = Atomic<Int>(0)
    let lastReceived = Atomic<UInt64>(0)
    let subscribed = Atomic<Bool>(false)

    init(url: MQTTURL, filter: String) throws {
        mosquitto_lib_init()
        guard let handle = mosquitto_new("bench-sub-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", true, nil) else {
            throw BenchError("mosquitto_new failed")
        }
        self.handle = handle
        self.filter = filter
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        mosquitto_connect_callback_set(handle) { mosq, userdata, rc in
            let subscriber = Unmanaged<CountingSubscriber>.fromOpaque(userdata!).takeUnretainedValue()
            if rc == 0 { mosquitto_subscribe(mosq, nil, subscriber.filter, 1) }
        }
        mosquitto_subscribe_callback_set(handle) { _, userdata, _, _, _ in
            Unmanaged<CountingSubscriber>.fromOpaque(userdata!).takeUnretainedValue().subscribed.store(true, ordering: .releasing)
        }
        mosquitto_message_callback_set(handle) { _, userdata, _ in
            let subscriber = Unmanaged<CountingSubscriber>.fromOpaque(userdata!).takeUnretainedValue()
            subscriber.received.add(1, ordering: .relaxed)
            subscriber.lastReceived.store(monotonicNanos(), ordering: .relaxed)
        }
        if let username = url.username { mosquitto_username_pw_set(handle, username, url.password) }
        guard mosquitto_connect(handle, url.host, url.port, 60) == MOSQ_ERR_SUCCESS.rawValue,
              mosquitto_loop_start(handle) == MOSQ_ERR_SUCCESS.rawValue else {
            throw BenchError("subscriber cannot connect to \(url)")
        }
        let deadline = Date().addingTimeInterval(10)
        while !subscribed.load(ordering: .acquiring) && Date() < deadline { usleep(10_000) }
        guard subscribed.load(ordering: .acquiring) else { throw BenchError("subscriber did not subscribe") }
    }

    func stop() {
        mosquitto_disconnect(handle)
        mosquitto_loop_stop(handle, false)
        mosquitto_destroy(handle)
    }
}

/// Ends a persistent session at the broker (connects with its client id and a clean session), so that an
/// ingest service that is gone does not make the broker queue the next phase's messages for it.
func endSession(url: MQTTURL, clientID: String) throws {
    mosquitto_lib_init()
    guard let handle = mosquitto_new(clientID, true, nil) else { throw BenchError("mosquitto_new failed") }
    defer { mosquitto_destroy(handle) }
    if let username = url.username { mosquitto_username_pw_set(handle, username, url.password) }
    guard mosquitto_connect(handle, url.host, url.port, 60) == MOSQ_ERR_SUCCESS.rawValue else {
        throw BenchError("cannot connect to \(url) to end session \(clientID)")
    }
    for _ in 0..<20 { _ = mosquitto_loop(handle, 50, 1) }  // CONNACK
    mosquitto_disconnect(handle)
    _ = mosquitto_loop(handle, 50, 1)
}
