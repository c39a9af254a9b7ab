// Decode throughput per wire format on one core, against Foundation's JSONDecoder as a baseline.
// Run: swift run -c release DecodeBenchmark [seconds-per-case]
import Foundation
import SensorModel
import WireFormats

let secondsPerCase = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 1.0
/// Optional second argument: run only cases whose name contains it.
let only = CommandLine.arguments.dropFirst(2).first
let start2026: Int64 = 1_767_225_600_000_000

func field(_ name: String, _ unit: String, _ min: Double, _ max: Double, lpp type: Int) -> Field {
    Field(name: name, unit: unit, min: min, max: max, lpp: LPPBinding(type: type))
}

let temperature = SensorType(name: "temperature", fields: [field("celsius", "Cel", -90, 150, lpp: 103)])
let power = SensorType(name: "power", fields: [
    field("voltage", "V", 0, 1000, lpp: 116), field("current", "A", 0, 1000, lpp: 117),
    field("power", "W", 0, 1_000_000, lpp: 128), field("energy", "kWh", 0, 1e9, lpp: 131),
])
let wide = SensorType(name: "wide", fields: (0..<16).map { Field(name: "f\($0)", unit: "V", min: -1e6, max: 1e6) })

/// `frames` messages of `samples` readings each, with values a device would send.
func readings(_ sensor: SensorType, frames: Int, samples: Int) -> [ReadingBatch] {
    var random = SystemRandomNumberGenerator()
    return (0..<frames).map { frame in
        var batch = ReadingBatch(fieldCount: sensor.fields.count)
        for sample in 0..<samples {
            let row = batch.appendRow(time: start2026 + Int64(frame * samples + sample) * 1_000_000, seq: Int64(frame))
            for (index, field) in sensor.fields.enumerated() {
                // Values on a 0.01 grid inside the range (and inside what LPP's bytes hold).
                let high = min(field.max, 600)
                batch.set(field: index, row: row, (Double.random(in: max(field.min, 0)...high, using: &random) * 100).rounded() / 100)
            }
        }
        return batch
    }
}

struct Result {
    var name: String
    var bytesPerSecond: Double
    var readingsPerSecond: Double
}

/// Runs `body` (which decodes every message once and returns readings decoded) for about `secondsPerCase`.
func measure(_ name: String, bytes: Int, _ body: () -> Int) -> Result {
    if let only, !name.contains(only) { return Result(name: name, bytesPerSecond: .nan, readingsPerSecond: .nan) }
    _ = body()  // warm up
    let clock = ContinuousClock()
    var rounds = 0
    var readings = 0
    let began = clock.now
    while clock.now - began < .seconds(secondsPerCase) || rounds < 3 {
        readings += body()
        rounds += 1
    }
    let elapsed = clock.now - began
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let result = Result(name: name, bytesPerSecond: Double(bytes * rounds) / seconds, readingsPerSecond: Double(readings) / seconds)
    let mb = String(format: "%9.1f", result.bytesPerSecond / 1e6)
    let rps = String(format: "%12.0f", result.readingsPerSecond)
    print("\(name.padding(toLength: 46, withPad: " ", startingAt: 0)) \(mb) MB/s \(rps) readings/s")
    return result
}

/// `source`: the index of the catalog source the messages come from (its format and paths then).
func decodeAll(_ payloads: [[UInt8]], sensor: SensorType, format: PayloadFormat, source: Int? = nil) -> Int {
    let decoder = MessageDecoder(sensor: sensor)
    var batch = ReadingBatch(fieldCount: sensor.fields.count, reservingCapacity: 8192)
    var total = 0
    var skipped = 0
    for payload in payloads {
        do {
            try decoder.decode(payload, format: format, source: source, receivedAt: start2026, into: &batch, skipped: &skipped)
        } catch {
            fatalError("benchmark payload rejected: \(error)")
        }
        if batch.count > 4096 {
            total += batch.count
            batch.removeAll()
        }
    }
    return total + batch.count
}

func encodeAll(_ batches: [ReadingBatch], with encoder: some PayloadEncoder) -> [[UInt8]] {
    batches.map { encoder.encode($0, rows: 0..<$0.count, seq: 1) }
}

// The JSONDecoder baseline: the same readings as Codable structs.
struct PowerReading: Codable {
    var time: Int64
    var seq: Int64
    var voltage: Double?
    var current: Double?
    var power: Double?
    var energy: Double?
}

func codableMessages(_ batches: [ReadingBatch]) -> [Data] {
    let encoder = JSONEncoder()
    return batches.map { batch in
        let readings = (0..<batch.count).map { row in
            PowerReading(time: batch.times[row], seq: batch.seqs[row], voltage: batch.value(field: 0, row: row),
                         current: batch.value(field: 1, row: row), power: batch.value(field: 2, row: row), energy: batch.value(field: 3, row: row))
        }
        return try! encoder.encode(readings)
    }
}

print("decode, one core, \(secondsPerCase) s per case\n")
var results: [String: Result] = [:]
@MainActor func run(_ name: String, _ payloads: [[UInt8]], _ sensor: SensorType, _ format: PayloadFormat) {
    results[name] = measure(name, bytes: payloads.reduce(0) { $0 + $1.count }) { decodeAll(payloads, sensor: sensor, format: format) }
}

for samples in [1, 10, 100] {
    let batches = readings(power, frames: max(2_000, 20_000 / samples), samples: samples)
    run("tm power float32 \(samples)-sample", encodeAll(batches, with: TMEncoder(encoding: .float32, crc: false)), power, .tm)
    run("tm power float32 \(samples)-sample +CRC", encodeAll(batches, with: TMEncoder(encoding: .float32, crc: true)), power, .tm)
    run("tm power float64 \(samples)-sample", encodeAll(batches, with: TMEncoder(encoding: .float64, crc: false)), power, .tm)
    run("tm power int32 scaled \(samples)-sample", encodeAll(batches, with: TMEncoder(encoding: .int32Scaled, crc: false, scale: -2)), power, .tm)
}
let temperatureBatches = readings(temperature, frames: 200, samples: 100)
run("tm temperature float32 100-sample", encodeAll(temperatureBatches, with: TMEncoder(encoding: .float32, crc: false)), temperature, .tm)
let wideBatches = readings(wide, frames: 200, samples: 100)
run("tm 16 fields float32 100-sample", encodeAll(wideBatches, with: TMEncoder(encoding: .float32, crc: false)), wide, .tm)
run("tm 16 fields float32 100-sample +CRC", encodeAll(wideBatches, with: TMEncoder(encoding: .float32, crc: true)), wide, .tm)

let single = readings(power, frames: 20_000, samples: 1)
run("lpp power (1 reading/message)", encodeAll(single, with: LPPEncoder(sensor: power, includeTime: true)), power, .lpp)
let packs = readings(power, frames: 2_000, samples: 10)
let jsonPacks = encodeAll(packs, with: SenMLJSONEncoder(sensor: power))
run("senml-json power 10-reading packs", jsonPacks, power, .senmlJSON)
run("senml-cbor power 10-reading packs", encodeAll(packs, with: SenMLCBOREncoder(sensor: power)), power, .senmlCBOR)

// The alternative to the hand-written JSON reader: JSONSerialization's parse alone (no SenML resolution).
let jsonData = jsonPacks.map { Data($0) }
let serialization = measure("senml-json via JSONSerialization (parse only)", bytes: jsonPacks.reduce(0) { $0 + $1.count }) {
    var records = 0
    for data in jsonData { records += (try! JSONSerialization.jsonObject(with: data) as! [Any]).count }
    return records / 4  // four records per reading
}

// Baseline: the same power readings, 10 per message, as Codable structs through JSONDecoder.
let codable = codableMessages(packs)
let decoder = JSONDecoder()
let baseline = measure("baseline JSONDecoder power 10-reading msgs", bytes: codable.reduce(0) { $0 + $1.count }) {
    var total = 0
    for data in codable { total += try! decoder.decode([PowerReading].self, from: data).count }
    return total
}

print("")
for name in ["tm power float32 10-sample", "tm power float32 100-sample", "tm 16 fields float32 100-sample", "senml-json power 10-reading packs", "senml-cbor power 10-reading packs", "lpp power (1 reading/message)"] {
    if let result = results[name] {
        print("\(name.padding(toLength: 46, withPad: " ", startingAt: 0)) \(String(format: "%6.1f", result.readingsPerSecond / baseline.readingsPerSecond))x JSONDecoder readings/s")
    }
}
if let json = results["senml-json power 10-reading packs"] {
    print("hand-written senml-json decode vs JSONSerialization parse alone: \(String(format: "%.1f", json.bytesPerSecond / serialization.bytesPerSecond))x")
}

runJSONCases()
runLoRaWANCases()
runSparkplugCases()
runBlockCases()

// CRC-32C alone, over 64 KiB.
let crcInput = [UInt8](repeating: 0xA5, count: 65_536)
_ = measure("crc32c 64 KiB", bytes: 16 * crcInput.count) {
    var sink: UInt32 = 0
    for _ in 0..<16 { sink &+= CRC32C.checksum(crcInput) }
    return Int(sink & 1)
}
