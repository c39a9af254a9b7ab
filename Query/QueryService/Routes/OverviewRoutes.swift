import Hummingbird
import StorageEvents
import StorageOperations

/// `GET /v1/overview`: the dashboard's first screen in one call.
enum OverviewRoutes {
    static func overview(_ store: QueryStore, now: Int64) async throws -> Response {
        var lines: [String?: SensorOverview] = [:]
        var services: [IngestStatus] = []
        for url in store.placement.urls {
            let (counts, statuses) = try await store.read(at: url) { connection in
                (try OverviewQueries.counts(now: now, on: connection), try IngestStatus.all(on: connection))
            }
            for (sensor, line) in counts {
                var merged = lines[sensor] ?? SensorOverview(sensor: sensor)
                merged.devices += line.devices
                merged.devicesByState.merge(line.devicesByState, uniquingKeysWith: +)
                merged.readingsLastHour += line.readingsLastHour
                merged.readingsLastMinute += line.readingsLastMinute
                merged.rejectedLastHour += line.rejectedLastHour
                merged.openAlerts += line.openAlerts
                lines[sensor] = merged
            }
            services += statuses
        }
        var json = JSONWriter(capacity: 1024)
        json.beginObject()
        json.key("time"); json.time(now)
        json.key("sensors")
        json.beginArray()
        for sensor in store.catalog.sensors {
            let line = lines[sensor.name] ?? SensorOverview(sensor: sensor.name)
            json.beginObject()
            json.field("sensor", sensor.name)
            json.field("devices", integer: line.devices)
            json.key("devices_by_state")
            json.beginObject()
            for state in DeviceState.allCases { json.field(state.rawValue, integer: line.devicesByState[state.rawValue] ?? 0) }
            json.endObject()
            json.field("readings_last_hour", integer: line.readingsLastHour)
            json.field("readings_last_minute", integer: line.readingsLastMinute)
            json.field("rejected_last_hour", integer: line.rejectedLastHour)
            json.field("open_alerts", integer: line.openAlerts)
            json.endObject()
        }
        json.endArray()
        json.key("devices_by_state")
        json.beginObject()
        for state in DeviceState.allCases {
            json.field(state.rawValue, integer: store.catalog.sensors.reduce(0) { $0 + (lines[$1.name]?.devicesByState[state.rawValue] ?? 0) })
        }
        json.endObject()
        json.field("open_alerts", integer: store.catalog.sensors.reduce(0) { $0 + (lines[$1.name]?.openAlerts ?? 0) })
        json.field("unrouted_rejected_last_hour", integer: lines[nil]?.rejectedLastHour ?? 0)
        json.key("services")
        json.beginArray()
        for status in services.sorted(by: { $0.service < $1.service }) {
            json.beginObject()
            json.field("service", status.service)
            json.field("sensor", status.sensor)
            json.key("up"); json.bool(status.isUp)
            json.field("stalled", status.stalled)
            json.field("host", status.host)
            json.field("pid", integer: Int64(status.pid))
            json.field("metrics_url", status.metricsURL)
            json.key("updated_at"); json.time(status.updatedAt)
            json.field("received_per_second", status.receivedPerSecond)
            json.field("committed_readings_per_second", status.committedReadingsPerSecond)
            json.field("received_total", integer: status.receivedTotal)
            json.field("committed_readings_total", integer: status.committedReadingsTotal)
            json.field("rejected_total", integer: status.rejectedTotal)
            json.field("queue_depth", integer: status.queueDepth)
            json.field("journal_bytes", integer: status.journalBytes)
            json.endObject()
        }
        json.endArray()
        json.field("streams", integer: Int64(store.liveReadings.reduce(0) { $0 + $1.statistics.subscribers }))
        json.endObject()
        return .json(json)
    }
}
