import Foundation
import SensorModel
import SparkplugProtobuf
import SwiftProtobuf
import Testing
@testable import WireFormats

/// Our Sparkplug B reader and writer against swift-protobuf's, generated from Eclipse Tahu's schema: each
/// reads what the other wrote, to the same fields, over random payloads and Tahu's own vectors.
@Suite struct SparkplugDifferentialTests {
    typealias Reference = Org_Eclipse_Tahu_Protobuf_Payload

    /// The fields both sides know, from swift-protobuf's message.
    static func fields(_ reference: Reference) -> SparkplugPayload {
        var payload = SparkplugPayload(timestamp: reference.hasTimestamp ? reference.timestamp : nil, seq: reference.hasSeq ? reference.seq : nil)
        for metric in reference.metrics {
            var ours = SparkplugMetric(
                alias: metric.hasAlias ? metric.alias : nil, timestamp: metric.hasTimestamp ? metric.timestamp : nil,
                datatype: nil, value: nil)
            ours.name = metric.hasName ? Array(metric.name.utf8) : nil
            ours.datatype = metric.hasDatatype ? metric.datatype : nil
            ours.isHistorical = metric.isHistorical
            ours.isNull = metric.isNull
            switch metric.value {
            case .intValue(let value): ours.value = .int(value)
            case .longValue(let value): ours.value = .long(value)
            case .floatValue(let value): ours.value = .float(value)
            case .doubleValue(let value): ours.value = .double(value)
            case .booleanValue(let value): ours.value = .bool(value)
            case .stringValue(let value): ours.value = .string(Array(value.utf8))
            case .some: ours.value = .other
            case nil: ours.value = nil
            }
            payload.metrics.append(ours)
        }
        return payload
    }

    /// Random payloads whose names and strings are UTF-8 (swift-protobuf's `string` requires it; ours takes bytes).
    static func randomPayload(_ random: inout SeededRandom) -> SparkplugPayload {
        var payload = SparkplugRoundTripTests.randomPayload(&random)
        let letters = Array("Temperature/Sensors.é–✓ 0".unicodeScalars)
        func text() -> [UInt8] { Array(String(String.UnicodeScalarView((0..<Int.random(in: 0...12, using: &random)).map { _ in letters.randomElement(using: &random)! })).utf8) }
        for index in payload.metrics.indices {
            if payload.metrics[index].name != nil { payload.metrics[index].name = text() }
            if case .string = payload.metrics[index].value { payload.metrics[index].value = .string(text()) }
        }
        return payload
    }

    /// Equal field by field, floats by their bits (NaN is not equal to itself).
    static func same(_ a: SparkplugPayload, _ b: SparkplugPayload) -> Bool {
        SparkplugEncoder.encode(a) == SparkplugEncoder.encode(b)
    }

    @Test func eachReadsWhatTheOtherWrote() throws {
        var random = SeededRandom(seed: 0xD1FF)
        for round in 0..<2000 {
            let payload = Self.randomPayload(&random)
            let ours = SparkplugEncoder.encode(payload)
            let reference = try Reference(serializedBytes: ours)
            #expect(Self.same(Self.fields(reference), payload), "round \(round): swift-protobuf read our bytes differently")
            let theirs: [UInt8] = try reference.serializedBytes()
            #expect(Self.same(try SparkplugPayload.decode(theirs), payload), "round \(round): we read swift-protobuf's bytes differently")
        }
    }

    @Test(arguments: ["nbirth", "dbirth", "ddata-aliases", "ndata-historical", "ndeath"])
    func tahuVectorsReadTheSame(_ name: String) throws {
        let url = Bundle.module.url(forResource: "testcases", withExtension: nil)!.appendingPathComponent("sparkplug/tahu-\(name).hex")
        let payload = bytes(hex: try String(contentsOf: url, encoding: .utf8))
        #expect(Self.same(try SparkplugPayload.decode(payload), Self.fields(try Reference(serializedBytes: payload))))
    }
}
