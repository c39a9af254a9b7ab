import Foundation
import SensorModel
import WireFormats

// The `json` format's reader against Foundation's JSONDecoder decoding the very same bytes into Codable
// structs shaped like them (the baseline a Swift developer would write).

struct ThingsBoardReading: Codable {
    struct Values: Codable {
        var voltage: Double?
        var current: Double?
        var power: Double?
        var energy: Double?
    }
    var ts: Int64
    var values: Values
}

/// ThingsBoard's flat shape with a time at the top: `{"ts": ms, "voltage": ..., ...}`.
struct FlatPowerReading: Codable {
    var ts: Int64
    var voltage: Double?
    var current: Double?
    var power: Double?
    var energy: Double?
}

struct TasmotaSensorMessage: Codable {
    struct Reading: Codable {
        var Temperature: Double
        var Humidity: Double
        var DewPoint: Double
        var Pressure: Double
    }
    var Time: String
    var BME280: Reading
    var PressureUnit: String
    var TempUnit: String
}

/// Measures our decoder (`ours` decodes every message once and returns the readings) and JSONDecoder
/// into `T` (`readings` counts what one decoded message holds) over the same messages; returns the pair.
@MainActor func compare<T: Decodable>(
    _ name: String, _ messages: [[UInt8]], as type: T.Type, readings: (T) -> Int, ours: () -> Int
) -> (name: String, ours: Result, baseline: Result) {
    let bytes = messages.reduce(0) { $0 + $1.count }
    let result = measure(name, bytes: bytes, ours)
    let data = messages.map { Data($0) }
    let decoder = JSONDecoder()
    let baseline = measure("JSONDecoder \(name)", bytes: bytes) {
        var total = 0
        for message in data { total += readings(try! decoder.decode(T.self, from: message)) }
        return total
    }
    return (name, result, baseline)
}

@MainActor func runJSONCases() {
    print("")
    var pairs: [(name: String, ours: Result, baseline: Result)] = []
    // ThingsBoard's {"ts": ms, "values": {...}}, ten per message (an array), power's four fields.
    let packs = readings(power, frames: 2_000, samples: 10)
    let arrays = encodeAll(packs, with: JSONTelemetryEncoder(sensor: power))
    pairs.append(compare("json power 10-reading msgs", arrays, as: [ThingsBoardReading].self, readings: \.count) {
        decodeAll(arrays, sensor: power, format: .json)
    })
    // One reading a message, as most devices publish: {"ts": ms, "values": {...}}, and the flat shape.
    let single = readings(power, frames: 20_000, samples: 1)
    let objects = encodeAll(single, with: JSONTelemetryEncoder(sensor: power))
    pairs.append(compare("json power 1-reading {ts, values}", objects, as: ThingsBoardReading.self, readings: { _ in 1 }) {
        decodeAll(objects, sensor: power, format: .json)
    })
    let flat = encodeAll(single, with: JSONTelemetryEncoder(sensor: power, shape: .flat))
    pairs.append(compare("json power 1-reading flat", flat, as: FlatPowerReading.self, readings: { _ in 1 }) {
        decodeAll(flat, sensor: power, format: .json)
    })
    // Tasmota's tele/<topic>/SENSOR with a BME280, through the default catalog's source paths.
    let tasmota = SensorType(
        name: "temperature", fields: temperature.fields,
        sources: [Source(topic: "tele/{device}/SENSOR", format: .json, fields: ["celsius": ["AM2301.Temperature", "BME280.Temperature"]])])
    let sensorMessages = (0..<20_000).map { index in
        Array(("{\"Time\":\"2026-01-01T00:00:00\",\"BME280\":{\"Temperature\":\(Double(index % 400) / 10),\"Humidity\":42.6,"
            + "\"DewPoint\":10.6,\"Pressure\":1013.2},\"PressureUnit\":\"hPa\",\"TempUnit\":\"C\"}").utf8)
    }
    pairs.append(compare("json tasmota BME280 (source paths)", sensorMessages, as: TasmotaSensorMessage.self, readings: { _ in 1 }) {
        decodeAll(sensorMessages, sensor: tasmota, format: .json, source: 0)
    })
    printRatios(pairs, against: "JSONDecoder")
}

/// Each pair's speed-up over its baseline (pairs whose case did not run are left out).
func printRatios(_ pairs: [(name: String, ours: Result, baseline: Result)], against baseline: String) {
    for (name, ours, theirs) in pairs where !ours.bytesPerSecond.isNaN {
        print("\(name.padding(toLength: 46, withPad: " ", startingAt: 0)) \(String(format: "%6.1f", ours.readingsPerSecond / theirs.readingsPerSecond))x \(baseline) readings/s, \(String(format: "%6.1f", ours.bytesPerSecond / theirs.bytesPerSecond))x MB/s")
    }
}
