import Foundation
import Hummingbird
import SensorModel
import TelemetryStore

enum AggregateRoutes {
    static let maxBuckets: Int64 = 100_000

    static func aggregates(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(context.parameters.get("sensor"))
        let parameters = Parameters(request)
        let bucketText = parameters.string("bucket") ?? "1h"
        guard let bucketDuration = DurationText.parse(bucketText) else {
            throw APIError.invalid("bucket", "must look like 10s, 1m, 1h or 1d")
        }
        let bucket = bucketDuration.components.seconds * 1_000_000
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let to = try parameters.time("to", default: now)
        let from = try parameters.time("from", default: max(0, to - 86_400_000_000))
        guard from < to else { throw APIError.invalid("from", "must be before to") }
        let first = floorDiv(from, bucket), last = floorDiv(to - 1, bucket)
        guard last - first + 1 <= maxBuckets else {
            throw APIError.invalid("bucket", "[from, to) spans \(last - first + 1) buckets of \(bucketText); at most 100,000 per series (widen the bucket or narrow the range)")
        }
        var fields = Array(sensor.fields.indices)
        if let name = parameters.string("field") {
            guard let index = sensor.fieldIndex(named: name) else {
                throw APIError.invalid("field", "\(sensor.name) has no field '\(name.prefix(64))' (fields: \(sensor.fields.map(\.name).joined(separator: ", ")))")
            }
            fields = [index]
        }
        var functions: [AggregateFunction] = [.count, .avg, .min, .max]
        if let text = parameters.string("fn") {
            functions = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let function = AggregateFunction(rawValue: String(part)) else {
                    throw APIError.invalid("fn", "must be a comma list of count, sum, avg, min, max")
                }
                if !functions.contains(function) { functions.append(function) }
            }
        }
        let groupBy = parameters.string("group_by")
        guard groupBy == nil || groupBy == "device" else { throw APIError.invalid("group_by", "the only grouping is group_by=device") }
        let devices = try Array(Set(parameters.all("device").map { try parameters.device($0) })).sorted()
        guard devices.count <= 1000 else { throw APIError.invalid("device", "at most 1000 devices per request") }
        let queries = ReadingQueries(sensor: sensor)
        let chosenFields = fields
        let outcome: Result<[AggregateSeries], APIError> = try await store.read { connection in
            var ids: [Int32]?
            var names: [Int32: String] = [:]
            if !devices.isEmpty {
                let found = try queries.devices(named: devices, on: connection)
                if let missing = devices.first(where: { name in !found.contains { $0.device == name } }) {
                    return .failure(APIError.notFound("unknown device '\(missing)' for \(sensor.name)"))
                }
                ids = found.map(\.id)
                for device in found { names[device.id] = device.device }
            }
            let query = AggregateQuery(from: from, to: to, bucket: bucket, fields: chosenFields, deviceIDs: ids, groupByDevice: groupBy == "device")
            if query.groupByDevice && ids == nil {
                names = try queries.deviceNames(on: connection)
            }
            return .success(try queries.aggregates(query, deviceNames: names, on: connection))
        }
        let series = try outcome.get()
        var json = JSONWriter(capacity: 256 + series.reduce(0) { $0 + $1.points.count * 100 })
        json.beginObject()
        json.field("sensor", sensor.name)
        json.field("bucket", bucketText)
        json.field("from", TimeText.format(from))
        json.field("to", TimeText.format(to))
        json.key("series")
        json.beginArray()
        // Series share their bucket times: format each distinct time once (168k points, 168 times at 7 d × 1 h).
        var times: [Int64: String] = [:]
        for entry in series {
            json.beginObject()
            json.field("device", entry.device)
            json.field("field", entry.field)
            json.key("points")
            json.beginArray()
            for point in entry.points {
                json.beginObject()
                let time = times[point.time] ?? TimeText.format(point.time)
                if times.count < 200_000 { times[point.time] = time }
                json.field("time", time)
                for function in functions {
                    switch function {
                    case .count: json.field("count", integer: point.count)
                    case .sum: json.field("sum", point.sum)
                    case .avg: json.field("avg", point.avg)
                    case .min: json.field("min", point.min)
                    case .max: json.field("max", point.max)
                    }
                }
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(json.text)
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
