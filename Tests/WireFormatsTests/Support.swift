import Foundation
import SensorModel
@testable import WireFormats

/// The repository's catalog (config/sensors), found from this file's path, decoded with `SensorType`'s
/// Codable conformance (retention left out: it is not the decoders' business).
let catalog: Catalog = {
    let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/sensors")
    let names = try! FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
    let sensors = names.map { name -> SensorType in
        var object = try! JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(name))) as! [String: Any]
        object["retention"] = nil
        return try! JSONDecoder().decode(SensorType.self, from: JSONSerialization.data(withJSONObject: object))
    }
    return try! Catalog(sensors: sensors)
}()

func sensor(_ name: String) -> SensorType { catalog[name]! }

/// 2026-01-01T00:00:00Z in microseconds.
let newYear2026: Int64 = 1_767_225_600_000_000

/// Hex with any whitespace, and `#` comments to the end of a line.
func bytes(hex: String) -> [UInt8] {
    let digits = hex.split(separator: "\n").map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "" }
        .joined().filter { $0.isHexDigit }
    var out: [UInt8] = []
    var index = digits.startIndex
    while index < digits.endIndex {
        let next = digits.index(index, offsetBy: 2)
        out.append(UInt8(digits[index..<next], radix: 16)!)
        index = next
    }
    return out
}

/// Decodes through `MessageDecoder` (normalization included) into a fresh batch.
func decode(_ payload: [UInt8], sensor: SensorType, format: PayloadFormat, receivedAt: Int64 = newYear2026) throws(DecodeError) -> ReadingBatch {
    var batch = ReadingBatch(fieldCount: sensor.fields.count)
    try MessageDecoder(sensor: sensor).decode(payload, format: format, receivedAt: receivedAt, into: &batch)
    return batch
}

/// The error code a payload is rejected with, nil when it decodes.
func rejection(_ payload: [UInt8], sensor: SensorType, format: PayloadFormat) -> DecodeError.Code? {
    do {
        _ = try decode(payload, sensor: sensor, format: format)
        return nil
    } catch {
        return error.code
    }
}

/// SplitMix64: small, seeded, the same on every platform.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Rows as comparable tuples, sorted by time: (time, seq, values with nil for missing).
struct Row: Equatable, CustomStringConvertible {
    var time: Int64
    var seq: Int64
    var values: [Double?]
    var description: String { "(\(time), seq \(seq), \(values.map { $0.map { "\($0)" } ?? "nil" }))" }
}

func rows(_ batch: ReadingBatch) -> [Row] {
    (0..<batch.count).map { row in
        Row(time: batch.times[row], seq: batch.seqs[row], values: (0..<batch.fieldCount).map { batch.value(field: $0, row: row) })
    }.sorted { $0.time < $1.time }
}

extension ReadingBatch {
    mutating func append(_ row: Row) {
        let index = appendRow(time: row.time, seq: row.seq)
        for (field, value) in row.values.enumerated() { if let value { set(field: field, row: index, value) } }
    }
}
