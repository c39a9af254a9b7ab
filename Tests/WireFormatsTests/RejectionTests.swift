import SensorModel
import Testing
@testable import WireFormats

/// Each way a message is rejected gives its own code, and the batch is left as it was.
@Suite struct RejectionTests {
    static let docExample = bytes(hex: "54 4D 01 00 01 00 01 00 07 00 00 00 00 40 20 46 48 47 06 00 00 00 00 00 00 00 AC 41")

    static func temperatureFrame(_ samples: [(UInt32, Float)], crc: Bool = false) -> [UInt8] {
        var batch = ReadingBatch(fieldCount: 1)
        for (offset, value) in samples {
            let row = batch.appendRow(time: newYear2026 + Int64(offset), seq: 7)
            batch.set(field: 0, row: row, Double(value))
        }
        return TMEncoder(encoding: .float32, crc: crc).encode(batch, rows: 0..<batch.count, seq: 7)
    }

    static func withFloat(_ bits: UInt32) -> [UInt8] {
        var frame = docExample
        withUnsafeBytes(of: bits.littleEndian) { frame.replaceSubrange(24..<28, with: $0) }
        return frame
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var sensor: String
        var format: PayloadFormat
        var payload: [UInt8]
        var code: DecodeError.Code
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "truncated", sensor: "temperature", format: .tm, payload: Array(docExample.dropLast()), code: .truncated),
        Case(name: "over-long", sensor: "temperature", format: .tm, payload: docExample + [0], code: .overLong),
        Case(name: "wrong magic", sensor: "temperature", format: .tm, payload: [0x54, 0x4E] + docExample.dropFirst(2), code: .badMagic),
        Case(name: "wrong version", sensor: "temperature", format: .tm, payload: [0x54, 0x4D, 2] + docExample.dropFirst(3), code: .badVersion),
        Case(name: "wrong field count", sensor: "power", format: .tm, payload: docExample, code: .fieldCount),
        Case(name: "bad CRC", sensor: "temperature", format: .tm,
             payload: { var frame = temperatureFrame([(0, 21.5)], crc: true); frame[frame.count - 1] ^= 1; return frame }(), code: .badCRC),
        Case(name: "NaN", sensor: "temperature", format: .tm, payload: withFloat(Float.nan.bitPattern), code: .nonFinite),
        Case(name: "out of range", sensor: "temperature", format: .tm, payload: withFloat(Float(150.5).bitPattern), code: .outOfRange),
        Case(name: "duplicate time", sensor: "temperature", format: .tm, payload: temperatureFrame([(5, 1), (9, 2), (5, 3)]), code: .duplicateTime),
        Case(name: "unknown LPP type", sensor: "temperature", format: .lpp, payload: [1, 0x67, 0, 0xD7, 2, 200, 0], code: .unknownLPPType),
        Case(name: "malformed CBOR", sensor: "temperature", format: .senmlCBOR, payload: [0x81, 0xA1, 0x00], code: .malformedCBOR),
        Case(name: "malformed JSON", sensor: "temperature", format: .senmlJSON, payload: Array(#"[{"n":"celsius" "v":1}]"#.utf8), code: .malformedJSON),
        Case(name: "json not objects", sensor: "temperature", format: .json, payload: Array("[1]".utf8), code: .badShape),
        Case(name: "json value not a number", sensor: "temperature", format: .json, payload: Array(#"{"celsius":[1]}"#.utf8), code: .badValue),
        Case(name: "text not a number", sensor: "temperature", format: .text, payload: Array("warm".utf8), code: .badText),
    ]

    @Test(arguments: cases)
    func rejected(_ testCase: Case) {
        let sensor = sensor(testCase.sensor)
        var batch = ReadingBatch(fieldCount: sensor.fields.count)
        _ = batch.appendRow(time: 1, seq: 1)
        do {
            try MessageDecoder(sensor: sensor).decode(testCase.payload, format: testCase.format, receivedAt: newYear2026, into: &batch)
            Issue.record("accepted")
        } catch {
            #expect(error.code == testCase.code, "\(error)")
            #expect(!error.message.isEmpty)
        }
        #expect(batch.count == 1)
    }

    @Test func codesAreDistinct() {
        #expect(Set(Self.cases.map(\.code)).count == Self.cases.count)
    }

    @Test func docExampleDecodes() throws {
        let batch = try decode(Self.docExample, sensor: sensor("temperature"), format: .tm)
        #expect(rows(batch) == [Row(time: 1_767_225_600_000_000, seq: 7, values: [21.5])])
    }

    // More reasons, format by format.

    @Test(arguments: [
        (#"[{"n":"celsius","u":"Pa","v":1}]"#, DecodeError.Code.badUnit),
        (#"[{"n":"fahrenheit","v":1}]"#, .unknownField),
        (#"[{"n":"celsius","vs":"warm"}]"#, .badSenML),
        (#"[{"n":"celsius","vb":true}]"#, .badSenML),
        (#"[{"n":"celsius","s":10}]"#, .badSenML),
        (#"[{"n":"celsius","v":1,"v":2}]"#, .badSenML),
        (#"[{"n":"celsius","v":1,"x_":2}]"#, .badSenML),
        (#"[{"bver":11,"n":"celsius","v":1}]"#, .badSenML),
        (#"[{"n":"celsius","v":"1"}]"#, .badSenML),
        (#"[{"v":1}]"#, .badSenML),
        (#"[{"n":"celsius"}]"#, .badSenML),
        (#"[{"n":"celsius","v":1e400}]"#, .nonFinite),
        (#"[{"bt":1767225600,"n":"celsius","v":1},{"n":"celsius","v":2}]"#, .duplicateField),
        (#"[{"bt":1e13,"n":"celsius","v":1}]"#, .badTime),
        (#"[]"#, .noFields),
        (#"[{"n":"celsius","v":1}] x"#, .malformedJSON),
        (#"[{"n":"celsius","v":01}]"#, .malformedJSON),
        (#"[{"n":"cel\u0073ius","v":1.}]"#, .malformedJSON),
        (#"[{"n":"celsius","v":-}]"#, .malformedJSON),
        (#"[{"n":"celsius","v":1}"#, .malformedJSON),
        (#"[{"n":"celsius","v":tru}]"#, .malformedJSON),
    ])
    func senmlJSON(json: String, code: DecodeError.Code) {
        #expect(rejection(Array(json.utf8), sensor: sensor("temperature"), format: .senmlJSON) == code, "\(json)")
    }

    @Test func senmlJSONAcceptsWhatTheRFCAllows() throws {
        let json = #" [ {"bn":"dev\/room:", "bt":1767225600, "bu":"K", "ut":5, "x":{"a":[1,null]}, "n":"cel\u0073ius", "v":294.65 , "s":3} ] "#
        let batch = try decode(Array(json.utf8), sensor: sensor("temperature"), format: .senmlJSON)
        #expect(rows(batch) == [Row(time: newYear2026, seq: -1, values: [294.65 - 273.15])])
    }

    @Test func senmlCBORRejections() {
        let temperature = sensor("temperature")
        // [{0: "celsius", 2: NaN}] with a half-precision NaN
        #expect(rejection([0x81, 0xA2, 0x00, 0x67] + Array("celsius".utf8) + [0x02, 0xF9, 0x7E, 0x00], sensor: temperature, format: .senmlCBOR) == .nonFinite)
        // trailing byte after the pack
        #expect(rejection([0x81, 0xA2, 0x00, 0x67] + Array("celsius".utf8) + [0x02, 0x01, 0x00], sensor: temperature, format: .senmlCBOR) == .overLong)
        // a map where the pack's array should be
        #expect(rejection([0xA0], sensor: temperature, format: .senmlCBOR) == .malformedCBOR)
        // string length past the end
        #expect(rejection([0x81, 0xA1, 0x00, 0x7A, 0xFF, 0xFF, 0xFF, 0xFF], sensor: temperature, format: .senmlCBOR) == .malformedCBOR)
        // deep nesting under an unknown label
        #expect(rejection([0x81, 0xA1, 0x18, 0x63] + Array(repeating: 0x81, count: 100) + [0x00], sensor: temperature, format: .senmlCBOR) == .malformedCBOR)
        // vs for a numeric field
        #expect(rejection([0x81, 0xA2, 0x00, 0x67] + Array("celsius".utf8) + [0x03, 0x61, 0x41], sensor: temperature, format: .senmlCBOR) == .badSenML)
    }

    @Test func senmlCBORAcceptsIndefiniteLengthsAndTags() throws {
        // [_ {_ 0: (_ "cel", "sius"), 2: 1(21)}] with a tag on the value, all indefinite
        let payload: [UInt8] = [0x9F, 0xBF, 0x00, 0x7F, 0x63] + Array("cel".utf8) + [0x64] + Array("sius".utf8) + [0xFF, 0x02, 0xC1, 0x15, 0xFF, 0xFF]
        let batch = try decode(payload, sensor: sensor("temperature"), format: .senmlCBOR)
        #expect(rows(batch) == [Row(time: newYear2026, seq: -1, values: [21])])
    }

    @Test func lppRejections() {
        let power = sensor("power")
        #expect(rejection([1, 0x74], sensor: power, format: .lpp) == .truncated)
        #expect(rejection([1], sensor: power, format: .lpp) == .truncated)
        #expect(rejection([1, 0x74, 0, 1, 2, 0x74, 0, 2], sensor: power, format: .lpp) == .ambiguousChannel)
        #expect(rejection([1, 0x67, 0, 1], sensor: power, format: .lpp) == .noFields)
        #expect(rejection([0, 0x85, 0, 0, 0, 1, 0, 0x85, 0, 0, 0, 1, 1, 0x74, 0, 1], sensor: power, format: .lpp) == .duplicateTime)
        #expect(rejection([], sensor: power, format: .lpp) == .noFields)
    }

    @Test func lppBoundChannelRepeated() {
        let sensor = SensorType(name: "one", fields: [Field(name: "a", unit: "V", min: 0, max: 100, lpp: LPPBinding(type: 116, channel: 4))])
        #expect(rejection([4, 0x74, 0, 1, 4, 0x74, 0, 2], sensor: sensor, format: .lpp) == .ambiguousChannel)
        #expect(rejection([4, 0x74, 0, 1, 5, 0x74, 0, 2], sensor: sensor, format: .lpp) == nil)
    }

    @Test func tmOtherRejections() {
        let temperature = sensor("temperature")
        var frame = Self.docExample
        frame[3] = 0x08
        #expect(rejection(frame, sensor: temperature, format: .tm) == .badFlags)
        frame = Self.docExample
        frame[5] = 1
        #expect(rejection(frame, sensor: temperature, format: .tm) == .badScale)
        frame = Self.docExample
        frame[6] = 0
        #expect(rejection(frame, sensor: temperature, format: .tm) == .sampleCount)
        #expect(rejection(Self.withFloat(Float.infinity.bitPattern), sensor: temperature, format: .tm) == .nonFinite)
    }
}
