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
    public let topic: String
    private var signal: SignalModel
    private var random: SplitMix64
    private var seq: UInt32 = 0
    private var nextTime: Int64 = 0
    private var batch: ReadingBatch
    private var values: [Double]
    private let encoder: any PayloadEncoder

    init(index: Int, name: String, sensor: SensorType, format: PayloadFormat, seed: UInt64) {
        self.index = index
        self.name = name
        self.sensor = sensor
        self.format = format
        self.topic = format == sensor.format ? "telemetry/\(sensor.name)/\(name)" : "telemetry/\(sensor.name)/\(name)/\(format.rawValue)"
        self.signal = SignalModel(sensor: sensor, seed: seed)
        self.random = SplitMix64(seed: seed ^ 0xA5A5_A5A5)
        self.batch = ReadingBatch(fieldCount: sensor.fields.count)
        self.values = Array(repeating: 0, count: sensor.fields.count)
        let type = Formats.encoderType(for: format) ?? TMEncoder.self
        self.encoder = type.init(sensor: sensor)
    }

    func nextUnit() -> Double { random.nextUnit() }

    /// The next message: `samples` readings `spacing` µs apart, never earlier than the last one sent.
    func nextMessage(samples: Int, spacing: Int64) -> [UInt8] {
        var time = max(Self.nowMicros(), nextTime)
        batch.removeAll()
        for _ in 0..<samples {
            signal.next(at: time, into: &values)
            let row = batch.appendRow(time: time, seq: Int64(seq))
            for field in values.indices { batch.set(field: field, row: row, values[field]) }
            time += spacing
        }
        nextTime = time
        defer { seq &+= 1 }
        return encoder.encode(batch, rows: 0..<batch.count, seq: seq)
    }

    /// A message the platform must reject: a frame with a broken header, or truncated.
    func malformedMessage() -> [UInt8] {
        var frame = nextMessage(samples: 1, spacing: 1)
        if random.nextUnit() < 0.5, frame.count > 4 {
            frame.removeLast(3)
        } else if !frame.isEmpty {
            frame[0] = 0x00
        }
        return frame
    }

    static func nowMicros() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }
}
