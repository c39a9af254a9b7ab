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

@MainActor func runJSONCases() {
    print("")
    // ThingsBoard's {"ts": ms, "values": {...}}, ten per message (an array), power's four fields.
    let packs = readings(power, frames: 2_000, samples: 10)
    let messages = encodeAll(packs, with: JSONTelemetryEncoder(sensor: power))
    let bytes = messages.reduce(0) { $0 + $1.count }
    results["json power 10-reading msgs"] = measure("json power 10-reading msgs", bytes: bytes) {
        decodeAll(messages, sensor: power, format: .json)
    }
    let data = messages.map { Data($0) }
    let decoder = JSONDecoder()
    let baseline = measure("JSONDecoder, the same json msgs", bytes: bytes) {
        var total = 0
        for message in data { total += try! decoder.decode([ThingsBoardReading].self, from: message).count }
        return total
    }
    // Tasmota's tele/<topic>/SENSOR with a BME280, through the default catalog's source paths.
    let tasmota = SensorType(
        name: "temperature", fields: temperature.fields,
        sources: [Source(topic: "tele/{device}/SENSOR", format: .json, fields: ["celsius": ["AM2301.Temperature", "BME280.Temperature"]])])
    let sensorMessages = (0..<20_000).map { index in
        Array(("{\"Time\":\"2026-01-01T00:00:00\",\"BME280\":{\"Temperature\":\(Double(index % 400) / 10),\"Humidity\":42.6,"
            + "\"DewPoint\":10.6,\"Pressure\":1013.2},\"PressureUnit\":\"hPa\",\"TempUnit\":\"C\"}").utf8)
    }
    let sensorBytes = sensorMessages.reduce(0) { $0 + $1.count }
    let messageDecoder = MessageDecoder(sensor: tasmota)
    results["json tasmota BME280 (source paths)"] = measure("json tasmota BME280 (source paths)", bytes: sensorBytes) {
        var batch = ReadingBatch(fieldCount: 1, reservingCapacity: 8192)
        var total = 0
        var skipped = 0
        for message in sensorMessages {
            try! messageDecoder.decode(message, format: nil, source: 0, receivedAt: start2026, into: &batch, skipped: &skipped)
            if batch.count > 4096 {
                total += batch.count
                batch.removeAll()
            }
        }
        return total + batch.count
    }
    let sensorData = sensorMessages.map { Data($0) }
    let tasmotaBaseline = measure("JSONDecoder, the same json tasmota msgs", bytes: sensorBytes) {
        var total = 0
        for message in sensorData { total += try! decoder.decode(TasmotaSensorMessage.self, from: message).BME280.Temperature.isNaN ? 0 : 1 }
        return total
    }
    for (name, base) in [("json power 10-reading msgs", baseline), ("json tasmota BME280 (source paths)", tasmotaBaseline)] {
        guard let result = results[name] else { continue }
        print("\(name.padding(toLength: 46, withPad: " ", startingAt: 0)) \(String(format: "%6.1f", result.bytesPerSecond / base.bytesPerSecond))x JSONDecoder on the same bytes")
    }
}
