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
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.field("sensor", sensor.name)
        json.field("bucket", bucketText)
        json.field("from", TimeText.format(from))
        json.field("to", TimeText.format(to))
        json.key("series")
        json.beginArray()
        // Big answers (7 days × 1 h × 1,000 devices is 168k points, 16 MB) are written in parts on all cores.
        let totalPoints = series.reduce(0) { $0 + $1.points.count }
        let partCount = totalPoints < 20_000 ? 1 : Swift.max(1, Swift.min(series.count, ProcessInfo.processInfo.activeProcessorCount))
        var cuts = [0]
        var seen = 0
        for (index, entry) in series.enumerated() where cuts.count < partCount {
            seen += entry.points.count
            if seen * partCount >= totalPoints * cuts.count { cuts.append(index + 1) }
        }
        if cuts.last != series.count { cuts.append(series.count) }
        let parts = Self.writeParts(series, cuts: cuts, functions: functions)
        var body = ByteBuffer()
        body.reserveCapacity(json.bytes.count + parts.reduce(0) { $0 + $1.count + 1 } + 2)
        body.writeBytes(json.bytes)
        var firstPart = true
        for part in parts where !part.isEmpty {
            if !firstPart { body.writeInteger(UInt8(ascii: ",")) }
            body.writeBytes(part)
            firstPart = false
        }
        body.writeBytes(Array("]}".utf8))
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    /// The series between consecutive cuts, each part as comma-separated JSON objects, written in parallel.
    static func writeParts(_ series: [AggregateSeries], cuts: [Int], functions: [AggregateFunction]) -> [[UInt8]] {
        let count = cuts.count - 1
        guard count > 1 else { return count == 1 ? [writeSeries(series[cuts[0]..<cuts[1]], functions: functions)] : [] }
        let results = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: count)
        results.initialize(repeating: [])
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let shared = results
        DispatchQueue.concurrentPerform(iterations: count) { part in
            shared[part] = writeSeries(series[cuts[part]..<cuts[part + 1]], functions: functions)
        }
        return Array(results)
    }

    static func writeSeries(_ series: ArraySlice<AggregateSeries>, functions: [AggregateFunction]) -> [UInt8] {
        var json = JSONWriter(capacity: 64 + series.reduce(0) { $0 + $1.points.count * (40 + 24 * functions.count) })
        for entry in series {
            json.beginObject()
            json.field("device", entry.device)
            json.field("field", entry.field)
            json.key("points")
            json.beginArray()
            for point in entry.points {
                json.beginObject()
                json.rawKey("\"time\":")
                json.time(point.time)
                for function in functions {
                    switch function {
                    case .count: json.rawKey("\"count\":"); json.integer(point.count)
                    case .sum: json.rawKey("\"sum\":"); json.number(point.sum)
                    case .avg: json.rawKey("\"avg\":"); json.number(point.avg)
                    case .min: json.rawKey("\"min\":"); json.number(point.min)
                    case .max: json.rawKey("\"max\":"); json.number(point.max)
                    }
                }
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        return json.bytes
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
