import Hummingbird
import ServiceLifecycle
import StorageReader

/// `GET /v1/sensors/{sensor}/devices/{device}/stream`: Server-Sent Events, one `reading` event per
/// reading committed after the stream opened (the same JSON as a reading of `/readings`, `id` its time
/// in µs), a `state` event when the device's state changes (`{"state": "silent", "since": "…"}`), and
/// a comment line every 15 s. Authenticated like every route (the bearer header; the
/// dashboard reads it with `fetch`, so no token ever goes in a URL).
enum StreamRoutes {
    static func stream(_ request: Request, _ context: some RequestContext, _ store: QueryStore) async throws -> Response {
        let sensor = try store.sensor(Parameters.path("sensor", context))
        let device = try Parameters(request).device(Parameters.path("device", context))
        let queries = ReadingQueries(sensor: sensor)
        // Starts after the newest reading stored now, so what the page loaded is not sent again.
        let found: (Int32, Int64)? = try await store.read(for: sensor) { connection in
            guard let stored = try queries.device(named: device, on: connection) else { return nil }
            return (stored.id, try queries.latest(deviceID: stored.id, on: connection)?.time ?? 0)
        }
        guard let found else { throw APIError.notFound("unknown device '\(device)' for \(sensor.name)") }
        let (deviceID, cursor) = found
        let live = store.liveReadings(for: sensor)
        let (id, events) = live.subscribe(sensor: sensor.name, deviceID: deviceID, after: cursor)
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPFields.Element.Name("X-Accel-Buffering")!: "no"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { live.unsubscribe(id) }
            try await writer.write(ByteBuffer(string: "retry: 2000\n: stream of \(sensor.name)/\(device)\n\n"))
            // The server stops only once every response has ended: a graceful shutdown (SIGTERM) ends the stream.
            try await withGracefulShutdownHandler {
                for await event in events {
                    switch event {
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    case .state(let change):
                        var json = JSONWriter(capacity: 96)
                        SensorRoutes.writeState(change.state.rawValue, since: change.since, into: &json)
                        var buffer = ByteBuffer(string: "event: state\ndata: ")
                        buffer.writeBytes(json.bytes)
                        buffer.writeString("\n\n")
                        try await writer.write(buffer)
                    case .reading(let reading):
                        var json = JSONWriter(capacity: 160)
                        SensorRoutes.write(reading, sensor: sensor, into: &json)
                        var buffer = ByteBuffer(string: "event: reading\nid: \(reading.time)\ndata: ")
                        buffer.writeBytes(json.bytes)
                        buffer.writeString("\n\n")
                        try await writer.write(buffer)
                    }
                }
            } onGracefulShutdown: {
                live.unsubscribe(id)
            }
            try await writer.finish(nil)
        })
    }
}
