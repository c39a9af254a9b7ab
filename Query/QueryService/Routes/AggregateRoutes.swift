import Foundation
import Hummingbird
import SensorModel
import StorageReader

enum AggregateRoutes {
    static let maxBuckets: Int64 = 100_000

    static func aggregates(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(Parameters.path("sensor", context))
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
        let cache = store.rollupCache(for: sensor)
        let outcome: Result<[AggregateSeries], APIError> = try await store.readHistory(for: sensor) { connection in
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
            return .success(try queries.aggregates(query, deviceNames: names, cache: cache, on: connection))
        }
        let series = try outcome.get()
        if try CSVExport.wanted(request, parameters) { return CSVExport.aggregates(series, functions: functions, sensor: sensor) }
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
        // The parts go out one after another, without being copied into one buffer first.
        var buffers = [ByteBuffer(bytes: json.bytes)]
        for part in Self.writeParts(series, cuts: cuts, functions: functions) where part.readableBytes > 0 {
            if buffers.count > 1 { buffers.append(ByteBuffer(bytes: [UInt8(ascii: ",")])) }
            buffers.append(part)
        }
        buffers.append(ByteBuffer(bytes: Array("]}".utf8)))
        let length = buffers.reduce(0) { $0 + $1.readableBytes }
        let parts = buffers
        let body = ResponseBody(contentLength: length) { writer in
            for buffer in parts { try await writer.write(buffer) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    /// The series between consecutive cuts, each part as comma-separated JSON objects, written in parallel.
    static func writeParts(_ series: [AggregateSeries], cuts: [Int], functions: [AggregateFunction]) -> [ByteBuffer] {
        let writer = AggregateSeriesWriter(functions: functions)
        let count = cuts.count - 1
        guard count > 1 else { return count == 1 ? [writer.write(series[cuts[0]..<cuts[1]])] : [] }
        let results = UnsafeMutableBufferPointer<ByteBuffer>.allocate(capacity: count)
        results.initialize(repeating: ByteBuffer())
        defer { results.deinitialize(); results.deallocate() }
        nonisolated(unsafe) let shared = results
        DispatchQueue.concurrentPerform(iterations: count) { part in
            shared[part] = writer.write(series[cuts[part]..<cuts[part + 1]])
        }
        return Array(results)
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
