import Foundation
import SensorModel
import Synchronization
import WireFormats

/// One emulated device: its topic, signal, frame sequence and clock. Used by one publisher thread.
public final class EmulatedDevice: @unchecked Sendable {
    public let index: Int
    public let name: String
    public let sensor: SensorType
    public let format: PayloadFormat
    /// Where its next message goes (a Sparkplug edge node's BIRTH, DBIRTH and DATA each have their own).
    public private(set) var topic: String
    /// The firmware imitated, if any: then one message feeds each of `feeds`.
    public let profile: DeviceProfile?
    /// The sensor types whose tables each of this device's readings lands in.
    public let feeds: [SensorType]
    private var signal: SignalModel
    private var profileSignals: [SignalModel] = []
    private var random: SplitMix64
    private var seq: UInt32 = 0
    private var nextTime: Int64 = 0
    private var batch: ReadingBatch
    private var values: [Double]
    private let encoder: any PayloadEncoder
    /// A LoRaWAN profile's node: its uplinks are the messages.
    private let node: LoRaWANNode?
    /// A Sparkplug profile's edge node.
    private(set) var edgeNode: SparkplugNode?

    /// The id it logs in to the broker with: its own, or its Sparkplug edge node's.
    public var credentialID: String { edgeNode?.edgeNode ?? name }

    /// A device imitating `profile` on the topic `pattern` (`{device}` its name), feeding `feeds` (the
    /// profile's sensor types, in its order).
    /// A LoRaWAN profile's device is named by the id its readings are stored under (a DevEUI, or `name`).
    convenience init(index: Int, name: String, profile: DeviceProfile, pattern: String, feeds: [SensorType], seed: UInt64) {
        let sources = feeds.map { profile.source(of: $0)! }
        let node = profile.envelope.map { LoRaWANNode(base: name, envelope: $0, feeds: feeds, sources: sources) }
        let edgeNode = profile == .sparkplug ? SparkplugNode(edgeNode: name, feeds: feeds, sources: sources) : nil
        self.init(index: index, name: node?.storedID ?? edgeNode?.storedID ?? name, sensor: feeds[0], format: feeds[0].format, seed: seed,
                  profile: (profile, pattern), feeds: feeds, node: node)
        self.edgeNode = edgeNode
        if let edgeNode { topic = edgeNode.dataTopic }
    }

    init(index: Int, name: String, sensor: SensorType, format: PayloadFormat, seed: UInt64,
         profile: (DeviceProfile, pattern: String)? = nil, feeds: [SensorType]? = nil, node: LoRaWANNode? = nil) {
        self.index = index
        self.name = name
        self.node = node
        self.sensor = sensor
        self.format = format
        self.profile = profile?.0
        let feeds = feeds ?? [sensor]
        self.feeds = feeds
        if let profile {
            self.topic = profile.pattern.replacingOccurrences(of: TopicPattern.deviceLevel, with: node?.topicDevice ?? name)
            self.profileSignals = feeds.enumerated().map { SignalModel(sensor: $1, seed: seed &+ UInt64($0) &* 7919) }
        } else {
            self.topic = format == sensor.format ? "telemetry/\(sensor.name)/\(name)" : "telemetry/\(sensor.name)/\(name)/\(format.rawValue)"
        }
        self.signal = SignalModel(sensor: sensor, seed: seed)
        self.random = SplitMix64(seed: seed ^ 0xA5A5_A5A5)
        self.batch = ReadingBatch(fieldCount: sensor.fields.count)
        self.values = Array(repeating: 0, count: sensor.fields.count)
        let type = Formats.encoderType(for: format)
        self.encoder = type.init(sensor: sensor)
    }

    func nextUnit() -> Double { random.nextUnit() }

    /// The next message: `samples` readings `spacing` µs apart, the last one at the time of sending (the
    /// samples were taken before it is sent), never at or before a reading sent already. A device that
    /// sends its frames faster than they span runs ahead of the clock; at any rate it can keep, it doesn't.
    func nextMessage(samples requested: Int, spacing requestedSpacing: Int64) -> (payload: [UInt8], readings: Int) {
        var samples = requested, spacing = requestedSpacing
        let now = Self.nowMicros()
        var time = max(now, nextTime)
        if let profile {
            // One reading per message, as the firmware sends; Shelly's time has 10 ms steps.
            let step = profile.timeStep
            if profile.carriesTime { time = (time + step - 1) / step * step }
            nextTime = time + (profile.carriesTime ? step : 1)
            let values = feeds.indices.map { index -> [Double] in
                var values = Array(repeating: 0.0, count: feeds[index].fields.count)
                profileSignals[index].next(at: time, into: &values)
                return values
            }
            defer { seq &+= 1 }
            if let node { return (node.payload(values: values, time: time, fCnt: seq), 1) }
            if edgeNode != nil {
                let (topic, payload, readings) = edgeNode!.next(values: values, time: time)
                self.topic = topic
                return (payload, readings)
            }
            return (profile.payload(values: values, time: time, device: name), 1)
        }
        if format == .text {
            samples = 1  // one number per message, at the receive time
        }
        time = max(now - Int64(samples - 1) * spacing, nextTime)
        if format == .lpp {
            // LPP carries one reading per payload and whole seconds: keep a device's times distinct.
            samples = 1
            spacing = 1_000_000
            time = (max(now, nextTime) + 999_999) / 1_000_000 * 1_000_000
        }
        batch.removeAll()
        for index in 0..<samples {
            if index > 0 { time += spacing }
            signal.next(at: time, into: &values)
            let row = batch.appendRow(time: time, seq: Int64(seq))
            for field in values.indices { batch.set(field: field, row: row, values[field]) }
        }
        nextTime = time + 1
        defer { seq &+= 1 }
        return (encoder.encode(batch, rows: 0..<batch.count, seq: seq), batch.count)
    }

    /// A message the platform must reject: a frame with a broken header, or truncated.
    func malformedMessage() -> [UInt8] {
        if let profile { return profile.malformed(device: name) }
        if format == .text { return Array("n/a".utf8) }
        var frame = nextMessage(samples: 1, spacing: 1).payload
        // A truncated payload breaks every format; a zeroed first byte breaks a tm frame's magic.
        if format == .tm, random.nextUnit() < 0.5 {
            frame[0] = 0x00
        } else {
            frame.removeLast(min(3, frame.count))
        }
        return frame
    }

    static func nowMicros() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }
}
