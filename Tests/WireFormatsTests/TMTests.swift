import SensorModel
import Testing
@testable import WireFormats

@Suite struct TMTests {
    static let temperature = sensor("temperature")

    @Test(arguments: TMFrame.ValueEncoding.allCases, [false, true])
    func encodingsDecode(_ encoding: TMFrame.ValueEncoding, crc: Bool) throws {
        var batch = ReadingBatch(fieldCount: 1)
        for (index, value) in [21.5, -40.25, 0, 149.75].enumerated() {
            let row = batch.appendRow(time: newYear2026 + Int64(index) * 1_000_000, seq: 9)
            batch.set(field: 0, row: row, value)
        }
        let frame = TMEncoder(encoding: encoding, crc: crc, scale: -2).encode(batch, rows: 0..<batch.count, seq: 9)
        #expect(frame.count == 20 + 4 * (4 + encoding.width) + (crc ? 4 : 0))
        #expect(frame[3] == (crc ? 1 : 0) | encoding.rawValue << 1)
        let decoded = try decode(frame, sensor: Self.temperature, format: .tm)
        #expect(rows(decoded) == rows(batch))
    }

    @Test func int32ScaleIsADecimalExponent() throws {
        // pressure 101325 × 10^-2 = 1013.25 hPa; and 1 × 10^3 with a positive scale
        for (raw, scale, expected) in [(Int32(101_325), Int8(-2), 1013.25), (Int32(1), Int8(3), 1000.0)] {
            var frame: [UInt8] = [0x54, 0x4D, 1, 0x04, 1, UInt8(bitPattern: scale), 1, 0, 0, 0, 0, 0]
            withUnsafeBytes(of: newYear2026.littleEndian) { frame += $0 }
            frame += [0, 0, 0, 0]
            withUnsafeBytes(of: raw.littleEndian) { frame += $0 }
            let batch = try decode(frame, sensor: sensor("pressure"), format: .tm)
            #expect(batch.value(field: 0, row: 0) == expected)
        }
    }

    @Test func unsortedSamplesAreAccepted() throws {
        let frame = RejectionTests.temperatureFrame([(9, 1), (3, 2), (5, 3)])
        let batch = try decode(frame, sensor: Self.temperature, format: .tm)
        #expect(Array(batch.times) == [newYear2026 + 9, newYear2026 + 3, newYear2026 + 5])
    }

    @Test func aLateSampleBeforeAnEarlierOneIsStillCaught() {
        var batch = ReadingBatch(fieldCount: 1)
        for time in [TimeBounds.maximum + 10, TimeBounds.maximum - 10] {
            let row = batch.appendRow(time: time, seq: 1)
            batch.set(field: 0, row: row, 20)
        }
        let frame = TMEncoder(encoding: .float32, crc: false).encode(batch, rows: 0..<2, seq: 1)
        #expect(rejection(frame, sensor: Self.temperature, format: .tm) == .badTime)
    }
}
