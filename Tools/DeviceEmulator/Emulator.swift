import Foundation
import Histogram
import Logging
import MQTT
import SensorModel
import Synchronization
import WireFormats

/// A fleet of emulated devices publishing over MQTT at a total rate, stopping by itself after a
/// count or a duration. Counts what it sent and what the broker acknowledged, per device.
public final class Emulator: @unchecked Sendable {
    public let options: EmulatorOptions
    public let url: MQTTURL
    public let devices: [EmulatedDevice]
    private let stats = LockedValue(Stats())
    private let remaining: Atomic<Int>
    private let startedAt = Date()

    struct Pending { var device: Int; var readings: Int; var sentAt: UInt64 }

    struct Stats {
        var sentMessages = 0
        var sentReadings = 0
        var malformed = 0
        var ackedMessages = 0
        var ackedReadings = 0
        /// Publish-to-acknowledgement latency in microseconds, up to 10 minutes, 3 significant digits.
        var latencies = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var pending: [Int: [Int32: Pending]] = [:]
        var early: [Int: Set<Int32>] = [:]
        /// Status messages' ids, whose acknowledgements count for no reading.
        var ignored: [Int: Set<Int32>] = [:]
        var ackedPerDevice: [Int] = []
    }

    public init(options: EmulatorOptions, url: MQTTURL) {
        self.options = options
        self.url = url
        var devices: [EmulatedDevice] = []
        var index = 0
        if let profile = options.profile {
            for number in 0..<options.devices {
                devices.append(EmulatedDevice(
                    index: number, name: "\(options.devicePrefix)-\(profile.rawValue)-\(String(number).leftPadded(4))", profile: profile,
                    pattern: options.profileTopic, feeds: options.sensors, seed: options.seed &* 1_000_003 &+ UInt64(number)))
            }
        }
        for sensor in options.sensors where options.profile == nil {
            // Not text: it has no time of its own, so a redelivery after a crash would be a second reading.
            let mixed = PayloadFormat.onTelemetryTopics.filter { $0 != .text }
            for number in 0..<options.devices {
                let format = options.mixedFormats ? mixed[number % mixed.count]
                    : options.formats[sensor.name] ?? sensor.format
                let name = "\(options.devicePrefix)-\(sensor.name)-\(String(number).leftPadded(4))"
                devices.append(EmulatedDevice(
                    index: index, name: name, sensor: sensor, format: format,
                    seed: options.seed &* 1_000_003 &+ UInt64(index)))
                index += 1
            }
        }
        self.devices = devices
        self.remaining = Atomic(options.count ?? Int.max)
        stats.withLock { $0.ackedPerDevice = Array(repeating: 0, count: devices.count) }
    }

    /// Publishes until the count or the duration is reached, then waits (bounded) for outstanding
    /// acknowledgements. `progress` is called about once a second from a background thread.
    public func run(progress: @escaping @Sendable (EmulatorSnapshot) -> Void) throws -> EmulatorReport {
        let asDevices = !options.credentials.isEmpty
        // A Sparkplug edge node's NDEATH is its connection's will: one connection each.
        let sparkplug = options.profile == .sparkplug
        let connectionCount = options.connections == 0 || asDevices || sparkplug ? devices.count : max(1, min(options.connections, devices.count))
        var clients: [MQTTClient] = []
        for number in 0..<connectionCount {
            // With one connection per device, connection `number` carries device `number` (the stride below).
            var url = self.url
            if asDevices {
                // A Sparkplug edge node logs in as itself; its device's readings are stored under `<edge node>.sensor`.
                let device = devices[number].credentialID
                guard let password = options.credentials[device] else {
                    throw MQTTError(code: -1, message: "no credential for device \(device) in the credentials file")
                }
                url.username = device
                url.password = password
            }
            // A device of its own says when it is connected (docs/devices.md#device-status): `online` once
            // connected, `offline` when it stops, and the broker says `offline` for it if it vanishes.
            var will = asDevices ? (topic: Self.statusTopic(devices[number].name), payload: Array("offline".utf8)) : nil
            if let edgeNode = devices[number].edgeNode { will = (edgeNode.deathTopic, edgeNode.deathPayload) }
            var clientOptions = MQTTClient.Options(
                clientID: "\(options.devicePrefix)-pub-\(ProcessInfo.processInfo.processIdentifier)-\(number)",
                cleanSession: true, maxInflight: options.maxInflight, will: will)
            clientOptions.willRetained = !sparkplug
            let client = try MQTTClient(
                url: url,
                options: clientOptions,
                onPublished: { [self] mid in acknowledged(client: number, mid: mid) })
            try client.start()
            clients.append(client)
        }
        for client in clients where !client.waitUntilReady(timeout: .seconds(15)) {
            throw MQTTError(code: -1, message: "cannot connect to \(url): \(client.lastError)")
        }
        // Sparkplug edge nodes say it with BIRTH and DEATH.
        if asDevices && !sparkplug { try announce("online", clients: clients) }
        let deadline = options.count == nil ? Date().addingTimeInterval(options.duration.seconds) : Date.distantFuture
        let hardDeadline = Date().addingTimeInterval(max(options.duration.seconds, 1) * 10 + 3600)
        let ratePerConnection = options.rate / Double(connectionCount)
        let group = DispatchGroup()
        let failure = Mutex<(any Error)?>(nil)
        for (number, client) in clients.enumerated() {
            let mine = stride(from: number, to: devices.count, by: connectionCount).map { devices[$0] }
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                do {
                    try publishLoop(client: client, number: number, devices: mine, rate: ratePerConnection,
                                    deadline: min(deadline, hardDeadline))
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
            thread.name = "publisher-\(number)"
            thread.start()
        }
        let done = Atomic<Bool>(false)
        let started = clients
        let reporter = Thread { [self] in
            while !done.load(ordering: .relaxed) {
                Thread.sleep(forTimeInterval: 1)
                if done.load(ordering: .relaxed) { break }
                progress(snapshot(inflight: started.reduce(0) { $0 + $1.inflight }))
            }
        }
        reporter.start()
        group.wait()
        if asDevices && !sparkplug { try? announce("offline", clients: clients) }
        // Sparkplug edge nodes say goodbye with their NDEATH before they disconnect, as the specification asks.
        for (number, client) in clients.enumerated() {
            guard let edgeNode = devices[number].edgeNode else { continue }
            if let mid = try? client.publish(topic: edgeNode.deathTopic, payload: edgeNode.deathPayload, qos: 1) { ignoreAcknowledgement(of: mid, client: number) }
        }
        // Wait for the broker to acknowledge what is still in flight (QoS 1), for at most 30 s.
        let ackDeadline = Date().addingTimeInterval(30)
        while options.qos > 0 && clients.contains(where: { $0.inflight > 0 }) && Date() < ackDeadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        done.store(true, ordering: .relaxed)
        for client in clients { client.stop() }
        if let error = failure.withLock({ $0 }) { throw error }
        return report()
    }

    private func publishLoop(client: MQTTClient, number: Int, devices: [EmulatedDevice], rate: Double, deadline: Date) throws {
        guard !devices.isEmpty else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        let interval = rate > 0 ? 1e9 / rate : 0
        var sent: UInt64 = 0
        var next = 0
        while Date() < deadline {
            guard remaining.subtract(1, ordering: .relaxed).oldValue > 0 else { break }
            // Not before the message is due: waits of more than a second (a connection of slow devices)
            // are slept a second at a time, and the run may end meanwhile.
            let due = start + UInt64(Double(sent) * interval)
            var now = DispatchTime.now().uptimeNanoseconds
            while due > now {
                guard Date() < deadline else { return }
                usleep(UInt32(min((due - now) / 1000, 1_000_000)))
                now = DispatchTime.now().uptimeNanoseconds
            }
            guard Date() < deadline else { return }
            let device = devices[next]
            next = (next + 1) % devices.count
            var malformed = false
            if options.malformedShare > 0, device.nextUnit() < options.malformedShare { malformed = true }
            let (message, readings) = malformed
                ? (device.malformedMessage(), 0) : device.nextMessage(samples: options.samples, spacing: options.sampleSpacing)
            let sentAt = DispatchTime.now().uptimeNanoseconds
            // Reserve the bookkeeping first: the acknowledgement may arrive before publish returns.
            let mid = try client.publish(topic: device.topic, payload: message, qos: options.qos)
            record(client: number, mid: mid, device: device.index, readings: readings, sentAt: sentAt, malformed: malformed)
            sent += 1
        }
    }

    private func record(client: Int, mid: Int32, device: Int, readings: Int, sentAt: UInt64, malformed: Bool) {
        stats.withLock { stats in
            stats.sentMessages += 1
            stats.sentReadings += readings
            if malformed { stats.malformed += 1 }
            let pending = Pending(device: device, readings: readings, sentAt: sentAt)
            if stats.early[client]?.remove(mid) != nil || options.qos == 0 {
                account(&stats, pending, ackedAt: DispatchTime.now().uptimeNanoseconds)
            } else {
                stats.pending[client, default: [:]][mid] = pending
            }
        }
    }

    static func statusTopic(_ device: String) -> String { "telemetry/status/\(device)" }

    /// Publishes each device's status (retained, QoS 1) on its own connection.
    private func announce(_ status: String, clients: [MQTTClient]) throws {
        for (number, client) in clients.enumerated() {
            let mid = try client.publish(topic: Self.statusTopic(devices[number].name), payload: Array(status.utf8), qos: 1, retain: true)
            ignoreAcknowledgement(of: mid, client: number)
        }
    }

    /// A message that carries no reading (a status, a Sparkplug DEATH): its acknowledgement counts for none.
    private func ignoreAcknowledgement(of mid: Int32, client: Int) {
        stats.withLock { stats in
            if stats.early[client]?.remove(mid) == nil { stats.ignored[client, default: []].insert(mid) }
        }
    }

    private func acknowledged(client: Int, mid: Int32) {
        let now = DispatchTime.now().uptimeNanoseconds
        stats.withLock { stats in
            if stats.ignored[client]?.remove(mid) != nil { return }
            guard options.qos > 0 else { return }
            if let pending = stats.pending[client]?.removeValue(forKey: mid) {
                account(&stats, pending, ackedAt: now)
            } else {
                stats.early[client, default: []].insert(mid)
            }
        }
    }

    private func account(_ stats: inout Stats, _ pending: Pending, ackedAt: UInt64) {
        stats.ackedMessages += 1
        stats.ackedReadings += pending.readings
        stats.ackedPerDevice[pending.device] += pending.readings
        _ = stats.latencies.record(min((ackedAt &- pending.sentAt) / 1000, 600_000_000))
    }

    func snapshot(inflight: Int) -> EmulatorSnapshot {
        stats.withLock { stats in
            EmulatorSnapshot(elapsed: Date().timeIntervalSince(startedAt), sentMessages: stats.sentMessages,
                             sentReadings: stats.sentReadings, ackedMessages: stats.ackedMessages, inflight: inflight)
        }
    }

    func report() -> EmulatorReport {
        stats.withLock { stats in
            let elapsed = Date().timeIntervalSince(startedAt)
            func percentile(_ p: Double) -> Double {
                stats.latencies.totalCount == 0 ? 0 : Double(stats.latencies.valueAtPercentile(p * 100)) / 1000
            }
            var perDevice: [String: Int] = [:]
            for device in devices { perDevice[device.name] = stats.ackedPerDevice[device.index] }
            return EmulatorReport(
                elapsed: elapsed, sentMessages: stats.sentMessages, sentReadings: stats.sentReadings, malformed: stats.malformed,
                ackedMessages: stats.ackedMessages, ackedReadings: stats.ackedReadings,
                latencyMillis: (percentile(0.5), percentile(0.99), percentile(0.999)), ackedReadingsPerDevice: perDevice)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
