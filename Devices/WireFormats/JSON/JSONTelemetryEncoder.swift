import SensorModel

/// Encodes readings as `json` telemetry: ThingsBoard's `{"ts": <ms>, "values": {...}}` (an array of them
/// for several readings), or flat objects with a top-level `ts`. A time that is not a whole millisecond
/// is written as RFC 3339 with microseconds, so every time reads back exactly.
public struct JSONTelemetryEncoder: PayloadEncoder {
    public enum Shape: Sendable, CaseIterable {
        case tsValues
        case flat
    }

    let names: [String]
    let shape: Shape

    public init(sensor: SensorType) { self.init(sensor: sensor, shape: .tsValues) }

    public init(sensor: SensorType, shape: Shape) {
        names = sensor.fields.map(\.name)
        self.shape = shape
    }

    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        var out = rows.count == 1 ? "" : "["
        for row in rows {
            if row != rows.lowerBound { out += "," }
            let time = batch.times[row]
            out += "{\"ts\":" + (time % 1000 == 0 ? "\(time / 1000)" : "\"\(TimeText.format(time))\"")
            var values = ""
            for (index, name) in names.enumerated() {
                guard let value = batch.value(field: index, row: row) else { continue }
                if !values.isEmpty { values += "," }
                values += "\"\(name)\":\(value)"
            }
            out += shape == .tsValues ? ",\"values\":{\(values)}}" : (values.isEmpty ? "}" : ",\(values)}")
        }
        if rows.count != 1 { out += "]" }
        return Array(out.utf8)
    }
}
