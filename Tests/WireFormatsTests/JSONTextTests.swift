import SensorModel
import Testing
@testable import WireFormats

/// `json` and `text` beyond the golden cases: every rejection reason, and what the formats allow.
@Suite struct JSONTextTests {
    @Test(arguments: [
        (#"{"celsius":1,}"#, DecodeError.Code.malformedJSON),
        (#"{"celsius":1"#, .malformedJSON),
        (#"{"celsius":01}"#, .malformedJSON),
        (#"{"celsius":1} {}"#, .malformedJSON),
        (#"{"celsius":"1}"#, .malformedJSON),
        (#"{celsius:1}"#, .malformedJSON),
        ("", .malformedJSON),
        ("   ", .malformedJSON),
        (#"[{"celsius":1},]"#, .malformedJSON),
        (#"[{"celsius":1}"#, .malformedJSON),
        (String(repeating: #"{"a":"#, count: 40) + "1" + String(repeating: "}", count: 40), .malformedJSON),
        (#""celsius""#, .badShape),
        ("null", .badShape),
        (#"[{"celsius":1}, 2]"#, .badShape),
        (#"[]"#, .noFields),
        (#"{}"#, .noFields),
        (#"{"celsius":null}"#, .noFields),
        (#"{"celsius":1e400}"#, .nonFinite),
        (#"{"celsius":-91}"#, .outOfRange),
        (#"{"celsius":"21.5"}"#, .badValue),
        (#"{"celsius":false}"#, .badValue),
        (#"{"celsius":{"v":1}}"#, .badValue),
        (#"{"celsius":1,"celsius":2}"#, .duplicateField),
        (#"{"celsius":1,"values":{"celsius":2}}"#, .duplicateField),
        (#"[{"celsius":1},{"celsius":2}]"#, .duplicateField),
        (#"{"ts":-1,"celsius":1}"#, .badTime),
        (#"{"ts":1e15,"celsius":1}"#, .badTime),
        (#"{"ts":true,"celsius":1}"#, .badTime),
        (#"{"ts":1,"time":2,"celsius":1}"#, .badTime),
        (#"{"time":"2026-01-01T00:00:00","celsius":1}"#, .badTime),
        (#"{"time":"2026-02-30T00:00:00Z","celsius":1}"#, .badTime),
        (#"{"time":"2026-01-01T24:00:00Z","celsius":1}"#, .badTime),
        (#"{"time":"2026-01-01T00:00:00.Z","celsius":1}"#, .badTime),
        (#"{"time":"2026-01-01T00:00:00+0100","celsius":1}"#, .badTime),
        // Values the sensor type does not map are skipped, but checked as strictly as the rest.
        (#"{"celsius":1,"note":"a long note, then \q"}"#, .malformedJSON),
        (#"{"celsius":1,"note":"\u12"}"#, .malformedJSON),
        (#"{"celsius":1,"note":"\ud800 alone"}"#, .malformedJSON),
        ("{\"celsius\":1,\"note\":\"a control \u{01} byte\"}", .malformedJSON),
        (#"{"celsius":1,"note":"never closed}"#, .malformedJSON),
        (#"{"celsius":1,"x":[1,tru]}"#, .malformedJSON),
        (#"{"celsius":1,"x":{"a" 1}}"#, .malformedJSON),
        (#"{"celsius":1,"x":{"a\x":1}}"#, .malformedJSON),
        (#"{"celsius":1,"x":-}"#, .malformedJSON),
        (#"{"celsius":1,"x":1.e5}"#, .malformedJSON),
    ])
    func jsonRejections(json: String, code: DecodeError.Code) {
        #expect(rejection(Array(json.utf8), sensor: sensor("temperature"), format: .json) == code, "\(json)")
    }

    /// 9999-12-31 in epoch milliseconds is past what a number may be (the year 5138): the reason says so,
    /// not that it is no milliseconds after 1970.
    @Test func aTimeBeyondTheLargestSaysWhereTheLimitIs() {
        #expect(throws: DecodeError(.badTime, "json time 253402300799000.0 is not epoch seconds or milliseconds from 1970 to the year 5138")) {
            try decode(Array(#"{"ts":253402300799000,"celsius":1}"#.utf8), sensor: sensor("temperature"), format: .json)
        }
    }

    @Test(arguments: [
        (#"{"ts":1767225600000,"celsius":21.5}"#, newYear2026),
        (#"{"ts":1767225600.25,"celsius":21.5}"#, newYear2026 + 250_000),
        (#"{"time":"2026-01-01T00:00:00Z","celsius":21.5}"#, newYear2026),
        (#"{"timestamp":"2026-01-01t00:00:00.000001z","celsius":21.5}"#, newYear2026 + 1),
        (#"{"time":"2025-12-31 19:00:00-05:00","celsius":21.5}"#, newYear2026),
        (#"{"time":"2026-01-01T00:00:00.1234567Z","celsius":21.5}"#, newYear2026 + 123_456),
        (#" { "values" : { "Temperature" : 21.5 } , "ts" : 1767225600000 } "#, newYear2026),
        (#"{"cel\u0073ius":21.5}"#, newYear2026),
        (#"{"celsius":21.5,"extra":{"deep":[1,{"x":null}]}}"#, newYear2026),
        (#"{"note":"eight or more bytes with \"quotes\", a \\ and \u00e9 in it","celsius":21.5}"#, newYear2026),
        (#"{"a long key holding \"quotes\"":"x","celsius":21.5,"k":"\ud83d\ude00"}"#, newYear2026),
    ])
    func jsonAccepts(json: String, time: Int64) throws {
        let batch = try decode(Array(json.utf8), sensor: sensor("temperature"), format: .json)
        #expect(rows(batch) == [Row(time: time, seq: -1, values: [21.5])], "\(json)")
    }

    @Test func jsonCountsWhatItSkips() throws {
        var batch = ReadingBatch(fieldCount: 1)
        var skipped = 0
        try MessageDecoder(sensor: sensor("temperature")).decode(
            Array(#"{"celsius":1,"a":2,"b":{"c":3},"d":[4]}"#.utf8), format: .json, receivedAt: newYear2026, into: &batch, skipped: &skipped)
        #expect(skipped == 3)
    }

    @Test func aFieldNamedValuesIsAField() throws {
        let values = SensorType(name: "counter", fields: [Field(name: "values", unit: "1", min: 0, max: 10)])
        let batch = try decode(Array(#"{"values":3}"#.utf8), sensor: values, format: .json)
        #expect(rows(batch) == [Row(time: newYear2026, seq: -1, values: [3])])
    }

    @Test func sourcePathsReplaceNamesAndAliases() throws {
        let sensor = SensorType(
            name: "temperature", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150, aliases: ["Temperature"])],
            sources: [Source(topic: "x/{device}", format: .json, fields: ["celsius": ["a.b"]], time: "a.t")])
        var batch = ReadingBatch(fieldCount: 1)
        var skipped = 0
        try MessageDecoder(sensor: sensor).decode(
            Array(#"{"celsius":1,"Temperature":2,"ts":5,"a":{"b":3,"t":1767225600}}"#.utf8), format: nil, source: 0,
            receivedAt: 0, into: &batch, skipped: &skipped)
        #expect(rows(batch) == [Row(time: newYear2026, seq: -1, values: [3])])
        #expect(skipped == 3)
    }

    @Test(arguments: [
        ("21.5", 21.5), (" 21.5 ", 21.5), ("21.5\r\n", 21.5), ("-3e1", -30), ("0", 0), ("1E2", 100), ("-0.0", 0),
    ])
    func textAccepts(text: String, value: Double) throws {
        let batch = try decode(Array(text.utf8), sensor: sensor("temperature"), format: .text)
        #expect(rows(batch) == [Row(time: newYear2026, seq: -1, values: [value])], "\(text)")
    }

    @Test(arguments: [
        ("", DecodeError.Code.badText), (" ", .badText), ("21,5", .badText), ("+21.5", .badText), ("21.5.1", .badText),
        ("0x10", .badText), ("\"21.5\"", .badText), ("21 22", .badText), ("NaN", .nonFinite), ("-inf", .nonFinite),
        ("1e400", .nonFinite), ("151", .outOfRange), (String(repeating: "1", count: 65), .overLong),
    ])
    func textRejections(text: String, code: DecodeError.Code) {
        #expect(rejection(Array(text.utf8), sensor: sensor("temperature"), format: .text) == code, "\(text)")
    }

    @Test func textForANamedFieldOfSeveral() throws {
        var power = sensor("power")
        power.sources = [Source(topic: "{device}/sensor/voltage/state", format: .text, field: "voltage")]
        var batch = ReadingBatch(fieldCount: 4)
        var skipped = 0
        try MessageDecoder(sensor: power).decode(Array("230.5".utf8), format: nil, source: 0, receivedAt: newYear2026, into: &batch, skipped: &skipped)
        #expect(rows(batch) == [Row(time: newYear2026, seq: -1, values: [230.5, nil, nil, nil])])
    }

    @Test func rfc3339WritesWhatItReads() throws {
        for micros: Int64 in [0, 1, newYear2026, newYear2026 + 999_999, 951_782_400_123_456 /* 2000-02-29 */, 4_102_444_799_999_999] {
            let text = TimeText.format(micros)
            #expect(try JSONTime.micros(rfc3339: Array(text.utf8)) == micros, "\(text)")
        }
        #expect(TimeText.format(newYear2026 + 5) == "2026-01-01T00:00:00.000005Z")
    }
}
