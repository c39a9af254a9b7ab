import Foundation
import SensorModel
import SparkplugProtobuf
import SwiftProtobuf
import WireFormats

// Sparkplug B payloads through our reader (protobuf wire format by hand, aliases resolved, fields mapped,
// ranges checked) against swift-protobuf's generated decoder of Eclipse Tahu's schema, which only builds
// the message: the ratio is how much faster ours does more.

@MainActor func runSparkplugCases() {
    print("")
    let fields = (0..<10).map { Field(name: "f\($0)", unit: "1", min: -1e9, max: 1e9) }
    let sensor = SensorType(name: "plant", fields: fields, sources: [
        Source(topic: "spBv1.0/plant", format: .sparkplug, fields: Dictionary(uniqueKeysWithValues: (0..<10).map { ("f\($0)", ["Line/Machine\($0)/Value"]) })),
    ])
    let aliases: [UInt64: (name: [UInt8], datatype: UInt32?)] = Dictionary(uniqueKeysWithValues: (0..<10).map {
        (UInt64($0 + 1), (Array("Line/Machine\($0)/Value".utf8), SparkplugDataType.double.rawValue))
    })
    func messages(named: Bool) -> [[UInt8]] {
        (0..<20_000).map { index in
            let milliseconds = UInt64(start2026 / 1000) + UInt64(index)
            return SparkplugEncoder.encode(SparkplugPayload(timestamp: milliseconds, seq: UInt64(index % 256), metrics: (0..<10).map { metric in
                var entry = SparkplugMetric(alias: UInt64(metric + 1), timestamp: milliseconds, value: .double(Double(index % 1000) + Double(metric) / 8))
                if named { entry.name = Array("Line/Machine\(metric)/Value".utf8); entry.datatype = SparkplugDataType.double.rawValue }
                return entry
            }))
        }
    }
    let decoder = MessageDecoder(sensor: sensor)
    func ours(_ payloads: [[UInt8]], resolve: (UInt64) -> (name: [UInt8], datatype: UInt32?)?) -> Int {
        var batch = ReadingBatch(fieldCount: 10, reservingCapacity: 8192)
        var total = 0
        var skipped = 0
        for payload in payloads {
            let start = batch.count
            do {
                try payload.withUnsafeBytes { try decoder.decodeSparkplug($0, source: 0, resolve: resolve, into: &batch, skipped: &skipped) }
                try decoder.checkRanges(batch, rows: start..<batch.count)
            } catch {
                fatalError("benchmark payload rejected: \(error)")
            }
            if batch.count > 4096 { total += batch.count; batch.removeAll() }
        }
        return total + batch.count
    }
    func baseline(_ payloads: [[UInt8]]) -> Int {
        var total = 0
        for payload in payloads {
            let message = try! Org_Eclipse_Tahu_Protobuf_Payload(serializedBytes: payload)
            total += message.metrics.isEmpty ? 0 : 1  // one reading of ten values per message, as ours
        }
        return total
    }
    var pairs: [(name: String, ours: Result, baseline: Result)] = []
    for (name, payloads, resolve) in [
        ("sparkplug DDATA, 10 aliased metrics", messages(named: false), { (alias: UInt64) in aliases[alias] }),
        ("sparkplug DBIRTH, 10 named metrics", messages(named: true), { (_: UInt64) in nil }),
    ] as [(String, [[UInt8]], (UInt64) -> (name: [UInt8], datatype: UInt32?)?)] {
        let bytes = payloads.reduce(0) { $0 + $1.count }
        let mine = measure(name, bytes: bytes) { ours(payloads, resolve: resolve) }
        let theirs = measure("swift-protobuf \(name)", bytes: bytes) { baseline(payloads) }
        pairs.append((name, mine, theirs))
    }
    printRatios(pairs, against: "swift-protobuf")
}
