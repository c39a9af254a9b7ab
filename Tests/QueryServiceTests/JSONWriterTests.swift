import Foundation
import Hummingbird
import StorageReader
import Testing
@testable import QueryService

@Suite struct JSONWriterTests {
    @Test func escapesAndNestsValidJSON() throws {
        var json = JSONWriter()
        json.beginObject()
        json.field("text", "quote \" backslash \\ newline \n control \u{01}")
        json.field("whole", 60.0)
        json.field("fraction", 21.4)
        json.field("missing", nil as Double?)
        json.key("list")
        json.beginArray()
        json.integer(1)
        json.string("two")
        json.endArray()
        json.endObject()
        #expect(json.text == #"{"text":"quote \" backslash \\ newline \n control \u0001","whole":60,"fraction":21.4,"missing":null,"list":[1,"two"]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any]
        #expect(parsed?["text"] as? String == "quote \" backslash \\ newline \n control \u{01}")
    }

    /// Numbers come out as `description` writes them (shortest digits that read back to the same double),
    /// whole numbers below 1e15 as integers, and times in RFC 3339 with microseconds, for values across their whole range.
    @Test func numbersAndTimesMatchTheirReferences() {
        var random = SystemRandomNumberGenerator()
        var values: [Double] = [0.1, -0.1, 1e-7, 123456789012345.6, 1e15, -1e300, 5e-324, .pi, 21.43, 1.0 / 3,
                                0.0001, 0.00011, -0.0001, 0.000099, 999_999_999.5, 999_999_999.999999, 123_456_789.123456, 1e9 + 0.5, 0.000001]
        for _ in 0..<20_000 {
            // Few decimals: the short path (sensor readings and their minimums and maximums).
            let decimals = [1.0, 10, 100, 1000, 10_000, 100_000, 1_000_000].randomElement(using: &random)!
            values.append(Double(Int64.random(in: -10_000_000_000...10_000_000_000, using: &random)) / decimals)
        }
        for _ in 0..<20_000 {
            values.append(Double(bitPattern: random.next()))
            values.append(Double.random(in: -1000...1000, using: &random))
            values.append(Double.random(in: 0...1, using: &random) / Double(Int.random(in: 1...1000, using: &random)))
        }
        for value in values where value.isFinite {
            var json = JSONWriter()
            json.number(value)
            let expected = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : value.description
            #expect(json.text == expected)
            #expect(Double(json.text) == value)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        for _ in 0..<2000 {
            let micros = Int64.random(in: 0...253_402_300_799_999_999, using: &random)
            var bytes: [UInt8] = []
            TimeText.write(micros, into: &bytes)
            let text = String(decoding: bytes, as: UTF8.self)
            let seconds = micros / 1_000_000
            let fraction = String(micros % 1_000_000)
            let reference = formatter.string(from: Date(timeIntervalSince1970: Double(seconds))).dropLast()
                + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + "Z"
            #expect(text == reference, "\(micros)")
        }
    }

    /// The fast series writer writes what the general JSON writer writes, for every function set, odd
    /// values (non-finite, huge, negative) and times across days and outside 4-digit years.
    @Test func seriesWriterMatchesTheGeneralWriter() throws {
        var random = SystemRandomNumberGenerator()
        let day: Int64 = 86_400_000_000
        var series: [AggregateSeries] = []
        for index in 0..<20 {
            var time = Int64.random(in: -400_000 * day...3_000_000 * day, using: &random)
            let points = (0..<Int.random(in: 1...60, using: &random)).map { _ -> AggregatePoint in
                time += Int64.random(in: 1...(day / 2), using: &random)
                let odd: [Double] = [.nan, .infinity, 1e300, -0.0, 5e-324, -123.456]
                func value() -> Double {
                    Int.random(in: 0..<8, using: &random) == 0 ? odd.randomElement(using: &random)! : (Double.random(in: -50...50, using: &random) * 1000).rounded() / 1000
                }
                return AggregatePoint(time: time, count: Int64.random(in: 1...100_000, using: &random), sum: value(), min: value(), max: value())
            }
            series.append(AggregateSeries(device: index % 3 == 0 ? nil : "dev-\(index) \"quoted\"", field: "celsius", points: points))
        }
        for functions in [AggregateFunction.allCases, [.count, .avg, .min, .max], [.avg], [.max, .count]] {
            let fast = AggregateSeriesWriter(functions: functions).write(series[...])
            var reference = JSONWriter()
            reference.beginArray()
            for entry in series {
                reference.beginObject()
                reference.field("device", entry.device)
                reference.field("field", entry.field)
                reference.key("points")
                reference.beginArray()
                for point in entry.points {
                    reference.beginObject()
                    reference.key("time")
                    reference.time(point.time)
                    for function in functions {
                        reference.key(function.rawValue)
                        if function == .count { reference.integer(point.count) } else { reference.number(function.value(of: point)) }
                    }
                    reference.endObject()
                }
                reference.endArray()
                reference.endObject()
            }
            reference.endArray()
            let text = "[" + String(buffer: fast) + "]"
            #expect(text == reference.text)
            _ = try JSONSerialization.jsonObject(with: Data(text.utf8))
        }
    }
}
