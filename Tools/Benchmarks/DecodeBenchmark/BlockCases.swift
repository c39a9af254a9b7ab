import BlockCodec
import Foundation

// Compacted blocks (docs/storage.md): one device's hour, times and one field's values, decoded the way the
// read path decodes them (buffers reused between blocks) and encoded the way compaction encodes them. A
// reading here is a time and its value.

/// `blocks` hours of a temperature sensor reporting every `seconds`: whole-second times, 0.1 °C values with
/// a daily cycle and noise, as float32 (TM frames) when `float32`.
func temperatureHours(blocks: Int, seconds: Int64, float32: Bool) -> [(times: [Int64], values: [Double])] {
    var random = SystemRandomNumberGenerator()
    return (0..<blocks).map { block in
        let hour = start2026 + Int64(block) * 3_600_000_000
        var level = Double.random(in: 15...25, using: &random)
        let count = Int(3600 / seconds)
        let times = (0..<count).map { hour + Int64($0) * seconds * 1_000_000 }
        let values = times.map { time -> Double in
            level += Double.random(in: -0.02...0.02, using: &random)
            let value = ((level + 1.5 * sin(Double(time % 86_400_000_000) / 86_400_000_000 * 2 * .pi) + Double.random(in: -0.1...0.1, using: &random)) * 10).rounded() / 10
            return float32 ? Double(Float(value)) : value
        }
        return (times, values)
    }
}

@MainActor func runBlockCases() {
    print("")
    for (name, seconds, float32) in [("0.1 Hz, float32", Int64(10), true), ("1 Hz, float32", 1, true), ("1 Hz, decimals", 1, false)] {
        let hours = temperatureHours(blocks: 3_000 / Int(seconds == 1 ? 10 : 1), seconds: seconds, float32: float32)
        let encoded = hours.map { (TimeColumn.encode($0.times), DoubleColumn.encode($0.values)) }
        let readings = hours.reduce(0) { $0 + $1.times.count }
        let bytes = encoded.reduce(0) { $0 + $1.0.count + $1.1.count }
        print(String(format: "block %@: %.2f bytes a reading (time and value)", name, Double(bytes) / Double(readings)))
        _ = measure("block decode \(name)", bytes: bytes) {
            var times: [Int64] = [], values: [Double] = [], integers: [Int64] = [], scratch: [UInt64] = []
            var decoded = 0
            for (timeBytes, valueBytes) in encoded {
                timeBytes.withUnsafeBytes { try! TimeColumn.decode($0, into: &times, scratch: &scratch) }
                valueBytes.withUnsafeBytes { try! DoubleColumn.decode($0, into: &values, integers: &integers, scratch: &scratch) }
                decoded += min(times.count, values.count)
            }
            return decoded
        }
        _ = measure("block encode \(name)", bytes: bytes) {
            var encodedBytes = 0
            for hour in hours { encodedBytes += TimeColumn.encode(hour.times).count + DoubleColumn.encode(hour.values).count }
            return encodedBytes > 0 ? readings : 0
        }
    }
}
