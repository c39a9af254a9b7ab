import Foundation
import SensorModel
import Testing
@testable import WireFormats

/// Runs every `testcases/<format or envelope>/<name>.{hex,json}` against its `<name>.expect.json`. An
/// envelope's cases name the catalog source (`source`) whose format reads the payload inside.
@Suite struct GoldenTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var folder: String
        var input: URL
        var expect: URL
        var testDescription: String { "\(folder)/\(input.lastPathComponent)" }
        var format: PayloadFormat? { PayloadFormat(rawValue: folder) }
    }

    static let folders = PayloadFormat.allCases.map(\.rawValue) + Envelope.allCases.map(\.rawValue)

    static let cases: [Case] = {
        let root = Bundle.module.url(forResource: "testcases", withExtension: nil)!
        var cases: [Case] = []
        for format in folders {
            let folder = root.appendingPathComponent(format)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for name in names.sorted() where !name.hasSuffix(".expect.json") && (name.hasSuffix(".hex") || name.hasSuffix(".json") || name.hasSuffix(".txt")) {
                let stem = (name as NSString).deletingPathExtension
                cases.append(Case(folder: format, input: folder.appendingPathComponent(name),
                                  expect: folder.appendingPathComponent("\(stem).expect.json")))
            }
        }
        return cases
    }()

    @Test func everyFormatAndEnvelopeHasCases() {
        for folder in Self.folders {
            #expect(Self.cases.contains { $0.folder == folder }, "no golden cases for \(folder)")
        }
    }

    @Test(arguments: cases)
    func golden(_ testCase: Case) throws {
        let expectation = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: testCase.expect)) as? [String: Any])
        let sensor: SensorType
        if let definition = expectation["sensorDefinition"] {
            sensor = try JSONDecoder().decode(SensorType.self, from: JSONSerialization.data(withJSONObject: definition))
        } else {
            sensor = try #require(catalog[expectation["sensor"] as! String])
        }
        let raw = try Data(contentsOf: testCase.input)
        let payload = testCase.input.pathExtension == "hex" ? bytes(hex: String(decoding: raw, as: UTF8.self)) : Array(raw)
        let receivedAt = (expectation["receivedAt"] as! NSNumber).int64Value
        // A catalog source by its topic pattern: the message came from that firmware's topic.
        var source: Int?
        if let topic = expectation["source"] as? String {
            source = sensor.sources.firstIndex { $0.topic == topic }
            #expect(source != nil, "\(sensor.name) has no source \(topic)")
        }

        #expect(testCase.format != nil || source != nil, "an envelope's case names its source")

        var batch = ReadingBatch(fieldCount: sensor.fields.count)
        var skipped = 0
        var device = expectation["topicDevice"] as? String
        do {
            try MessageDecoder(sensor: sensor).decode(
                payload, format: testCase.format, source: source, receivedAt: receivedAt, into: &batch, skipped: &skipped, device: &device)
        } catch {
            #expect(error.code.rawValue == expectation["error"] as? String, "\(error)")
            #expect(batch.isEmpty)
            return
        }
        #expect(expectation["error"] == nil, "decoded, but \(expectation["error"]!) was expected")
        let expected: [Row] = (expectation["readings"] as! [[String: Any]]).map { reading in
            let values = reading["values"] as! [String: NSNumber]
            return Row(time: (reading["time"] as! NSNumber).int64Value, seq: (reading["seq"] as! NSNumber).int64Value,
                       values: sensor.fields.map { values[$0.name]?.doubleValue })
        }.sorted { $0.time < $1.time }
        #expect(rows(batch) == expected)
        if let named = expectation["device"] as? String { #expect(device == named) }
        #expect(skipped == (expectation["skipped"] as? Int ?? 0))
    }
}

