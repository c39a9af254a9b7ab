import Hummingbird
import StorageCore
import StorageReader

/// Aggregate series as JSON, straight into a ByteBuffer: a point's bytes are bounded, so room is made
/// once per point and its bytes are stored without a check per byte (168k points are 16 MB).
struct AggregateSeriesWriter {
    let functions: [AggregateFunction]
    /// `,{"time":"…",` 40 bytes, then per function a key of at most 8 and a number.
    private let maxPointBytes: Int

    init(functions: [AggregateFunction]) {
        self.functions = functions
        maxPointBytes = 48 + functions.count * (8 + NumberText.maxBytes)
    }

    /// The series as comma-separated JSON objects (no brackets around them).
    func write(_ series: ArraySlice<AggregateSeries>) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(64 + series.reduce(0) { $0 + 64 + $1.points.count * (40 + 22 * functions.count) })
        var first = true
        for entry in series {
            var header = JSONWriter(capacity: 128)
            header.beginObject()
            header.field("device", entry.device)
            header.field("field", entry.field)
            header.key("points")
            if !first { buffer.writeInteger(UInt8(ascii: ",")) }
            first = false
            buffer.writeBytes(header.bytes)
            buffer.writeInteger(UInt8(ascii: "["))
            writePoints(entry.points, into: &buffer)
            buffer.writeBytes([UInt8(ascii: "]"), UInt8(ascii: "}")])
        }
        return buffer
    }

    private func writePoints(_ points: [AggregatePoint], into buffer: inout ByteBuffer) {
        // Points of a series are in time order: most share their date with the one before.
        var date: (day: Int64, text: (UInt64, UInt64)) = (.min, (0, 0))
        for (index, point) in points.enumerated() {
            let day = Micros.day(of: point.time)
            if day != date.day {
                var text: (UInt64, UInt64) = (0, 0)
                let ok = withUnsafeMutableBytes(of: &text) { TimeText.putDate(day, at: $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
                guard ok else {
                    // A year outside 0...9999 (only from odd query bounds): the general writer.
                    if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                    var json = JSONWriter(capacity: 256)
                    writeSlow(point, into: &json)
                    buffer.writeBytes(json.bytes)
                    continue
                }
                date = (day, text)
            }
            let dateText = date.text
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: maxPointBytes) { raw in
                let out = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var at = 0
                if index > 0 { Self.put(",", out, &at) }
                Self.put("{\"time\":\"", out, &at)
                withUnsafeBytes(of: dateText) { (out + at).update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 10) }
                TimeText.putTimeOfDay(point.time - day * Micros.perDay, at: out + at + 10)
                at += 27
                out[at] = UInt8(ascii: "\"")
                at += 1
                for function in functions {
                    switch function {
                    case .count:
                        Self.put(",\"count\":", out, &at)
                        at += NumberText.put(point.count, at: out + at)
                        continue
                    case .sum: Self.put(",\"sum\":", out, &at)
                    case .avg: Self.put(",\"avg\":", out, &at)
                    case .min: Self.put(",\"min\":", out, &at)
                    case .max: Self.put(",\"max\":", out, &at)
                    }
                    let value = function.value(of: point)
                    if value.isFinite {
                        at += NumberText.put(value, at: out + at)
                    } else {
                        Self.put("null", out, &at)
                    }
                }
                out[at] = UInt8(ascii: "}")
                return at + 1
            }
        }
    }

    @inline(__always)
    private static func put(_ text: StaticString, _ out: UnsafeMutablePointer<UInt8>, _ at: inout Int) {
        (out + at).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        at += text.utf8CodeUnitCount
    }

    private func writeSlow(_ point: AggregatePoint, into json: inout JSONWriter) {
        json.beginObject()
        json.rawKey("\"time\":")
        json.time(point.time)
        for function in functions {
            json.key(function.rawValue)
            if function == .count { json.integer(point.count) } else { json.number(function.value(of: point)) }
        }
        json.endObject()
    }
}

extension AggregateFunction {
    func value(of point: AggregatePoint) -> Double {
        switch self {
        case .count: Double(point.count)
        case .sum: point.sum
        case .avg: point.avg
        case .min: point.min
        case .max: point.max
        }
    }
}
