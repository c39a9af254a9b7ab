import Hummingbird
import SensorModel
import StorageReader

/// CSV instead of JSON (`format=csv`, or `Accept: text/csv`), for spreadsheets and scripts: raw readings
/// of a range, streamed page by page as they are read (never the whole range in memory), and aggregates.
/// RFC 4180: a header line, comma-separated, CRLF line ends; a value a reading does not carry is empty.
enum CSVExport {
    static func wanted(_ request: Request, _ parameters: Parameters) throws -> Bool {
        if let format = parameters.string("format") {
            guard format == "csv" || format == "json" else { throw APIError.invalid("format", "must be csv or json") }
            return format == "csv"
        }
        let accept = request.headers[.accept] ?? ""
        return accept.contains("text/csv") && !accept.contains("application/json")
    }

    static let pageRows = 10_000

    /// Every reading of `deviceID` in `[from, to)` in the chosen order, `limit` at most (nil: all).
    static func readings(
        sensor: SensorType, device: String, deviceID: Int32, from: Int64, to: Int64, ascending: Bool, limit: Int?, store: QueryStore
    ) -> Response {
        let queries = ReadingQueries(sensor: sensor)
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: (["time", "seq"] + sensor.fields.map(\.name)).joined(separator: ",") + "\r\n"))
            var cursor: Int64?
            var left = limit ?? .max
            while left > 0 {
                let page = Swift.min(pageRows, left)
                let after = cursor
                let rows = try await store.readHistory(for: sensor) { connection in
                    try queries.readings(deviceID: deviceID, from: from, to: to, after: after, ascending: ascending, limit: page, on: connection)
                }
                var buffer = ByteBuffer()
                buffer.reserveCapacity(rows.count * (40 + 16 * sensor.fields.count))
                for reading in rows {
                    buffer.writeString(TimeText.format(reading.time))
                    buffer.writeString(",")
                    if let seq = reading.seq { buffer.writeString(String(seq)) }
                    for value in reading.values {
                        buffer.writeString(",")
                        if let value { buffer.writeString(number(value)) }
                    }
                    buffer.writeString("\r\n")
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
                left -= rows.count
                guard rows.count == page, let last = rows.last else { break }
                cursor = last.time
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers(filename: "\(sensor.name)-\(device).csv"), body: body)
    }

    /// Aggregate series as rows: device (empty for a series over several), field, bucket start, then the functions.
    static func aggregates(_ series: [AggregateSeries], functions: [AggregateFunction], sensor: SensorType) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString((["device", "field", "time"] + functions.map(\.rawValue)).joined(separator: ",") + "\r\n")
        for entry in series {
            let prefix = "\(entry.device ?? ""),\(entry.field),"
            for point in entry.points {
                buffer.writeString(prefix + TimeText.format(point.time))
                for function in functions {
                    buffer.writeString(",")
                    switch function {
                    case .count: buffer.writeString(String(point.count))
                    case .sum: buffer.writeString(number(point.sum))
                    case .avg: buffer.writeString(number(point.avg))
                    case .min: buffer.writeString(number(point.min))
                    case .max: buffer.writeString(number(point.max))
                    }
                }
                buffer.writeString("\r\n")
            }
        }
        return Response(status: .ok, headers: headers(filename: "\(sensor.name)-aggregates.csv"), body: .init(byteBuffer: buffer))
    }

    static func headers(filename: String) -> HTTPFields {
        [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\""]
    }

    /// As in the JSON: whole numbers without a fraction, else the shortest digits that read back the same.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "" }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: NumberText.maxBytes) { out in
            String(decoding: UnsafeBufferPointer(start: out.baseAddress!, count: NumberText.put(value, at: out.baseAddress!)), as: UTF8.self)
        }
    }
}
