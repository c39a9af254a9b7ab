import SensorModel

/// SenML JSON, e.g. `[{"bt":1767225600,"n":"celsius","u":"Cel","v":21.5}]`. Needs times after 1978 (2^28 s).
public struct SenMLJSONEncoder: PayloadEncoder {
    let sensor: SensorType

    public init(sensor: SensorType) { self.sensor = sensor }

    public func encode(_ batch: ReadingBatch, rows: Range<Int>, seq: UInt32) -> [UInt8] {
        var out = "["
        for (index, record) in SenMLPackWriter.records(batch, rows: rows, sensor: sensor).enumerated() {
            if index > 0 { out += "," }
            out += "{"
            if let baseTime = record.baseTime { out += "\"bt\":\(baseTime)," }
            out += "\"n\":\"\(record.name)\",\"u\":\"\(record.unit)\",\"v\":\(record.value)"
            if let time = record.time { out += ",\"t\":\(time)" }
            out += "}"
        }
        out += "]"
        return Array(out.utf8)
    }
}

