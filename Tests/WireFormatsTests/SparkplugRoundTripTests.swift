import Foundation
import SensorModel
import Testing
@testable import WireFormats

/// Random Sparkplug B payloads (every scalar datatype, names and aliases, historical and null metrics,
/// fields in any order) written by `SparkplugEncoder` and read back by `SparkplugPayload.decode`: the
/// same payload; and every prefix of one is refused or read, never read past.
@Suite struct SparkplugRoundTripTests {
    static func randomPayload(_ random: inout SeededRandom) -> SparkplugPayload {
        func maybe<T>(_ value: @autoclosure () -> T) -> T? { Bool.random(using: &random) ? value() : nil }
        var payload = SparkplugPayload(timestamp: maybe(UInt64.random(in: 0...UInt64.max, using: &random)), seq: maybe(UInt64.random(in: 0...255, using: &random)))
        for _ in 0..<Int.random(in: 0...8, using: &random) {
            let value: SparkplugMetric.Value? = switch Int.random(in: 0...7, using: &random) {
            case 0: .int(UInt32.random(in: 0...UInt32.max, using: &random))
            case 1: .long(random.next())
            case 2: .float(Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &random)))
            case 3: .double(Double(bitPattern: random.next()))
            case 4: .bool(Bool.random(using: &random))
            case 5: .string((0..<Int.random(in: 0...20, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            default: nil
            }
            var metric = SparkplugMetric(alias: maybe(random.next()), timestamp: maybe(random.next()),
                                         datatype: maybe(SparkplugDataType(rawValue: UInt32.random(in: 1...14, using: &random))!), value: value)
            metric.name = maybe((0..<Int.random(in: 0...30, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
            metric.isHistorical = Bool.random(using: &random)
            metric.isNull = value == nil && Bool.random(using: &random)
            payload.metrics.append(metric)
        }
        return payload
    }

    @Test func randomPayloadsComeBackAsTheyWent() throws {
        var random = SeededRandom(seed: 0x5B)
        for _ in 0..<2000 {
            let payload = Self.randomPayload(&random)
            let bytes = SparkplugEncoder.encode(payload)
            let decoded = try SparkplugPayload.decode(bytes)
            // NaN is not equal to itself: compare the bits.
            #expect(SparkplugEncoder.encode(decoded) == bytes)
            #expect(decoded.metrics.count == payload.metrics.count && decoded.seq == payload.seq && decoded.timestamp == payload.timestamp)
            for cut in 0..<bytes.count {
                _ = try? SparkplugPayload.decode(Array(bytes[..<cut]))
            }
        }
    }

    /// Readings through the format: rows written as a DATA payload (metric per field, its name) and read back.
    @Test func readingsComeBackThroughTheFormat() throws {
        let sensor = SensorType(name: "power", fields: [
            Field(name: "voltage", unit: "V", min: 0, max: 1000), Field(name: "current", unit: "A", min: 0, max: 1000),
        ])
        var batch = ReadingBatch(fieldCount: 2)
        for index in 0..<5 {
            let row = batch.appendRow(time: 1_767_225_600_000_000 + Int64(index) * 1000, seq: 7)
            batch.set(field: 0, row: row, 230 + Double(index) / 8)
            if index % 2 == 0 { batch.set(field: 1, row: row, Double(index)) }
        }
        let bytes = SparkplugReadingEncoder(sensor: sensor).encode(batch, rows: 0..<5, seq: 7)
        var back = ReadingBatch(fieldCount: 2)
        try MessageDecoder(sensor: sensor).decode(bytes, format: .sparkplug, receivedAt: 0, into: &back)
        #expect(rows(back) == rows(batch))
    }
}
