import SensorModel

/// Table and column names of one sensor type. Names come from the validated catalog
/// (a-z, 0-9, _), never from requests, and are still quoted.
public struct SensorTables: Sendable {
    public let sensor: SensorType

    public init(_ sensor: SensorType) { self.sensor = sensor }

    public var readings: String { quoted(sensor.name) }
    public var rollup1m: String { quoted("\(sensor.name)_1m") }
    public var rollup1h: String { quoted("\(sensor.name)_1h") }
    public var stage: String { quoted("stage_\(sensor.name)") }
    /// Compacted readings: one row per device and hour (`CompactedBlock`).
    public var blocks: String { quoted("\(sensor.name)_blocks") }
    public var fieldColumns: [String] { sensor.fields.map { quoted($0.name) } }

    public func rollup(_ resolution: RollupResolution) -> String {
        resolution == .minute ? rollup1m : rollup1h
    }

    public func partitionName(day: Int64) -> String {
        quoted("\(sensor.name)_p\(CivilDate(daysSinceEpoch: day).compact)")
    }

    public func blockPartitionName(day: Int64) -> String {
        quoted("\(sensor.name)_b\(CivilDate(daysSinceEpoch: day).compact)")
    }

    public func quoted(_ name: String) -> String { "\"\(name)\"" }

    public func column(_ field: String, _ part: String) -> String { quoted("\(field)_\(part)") }

    /// A rollup's aggregate columns for `fields`, in the order every rollup statement uses:
    /// count, sum, min, max of the first field, then of the next.
    public func rollupColumns(_ fields: [String]) -> [String] {
        fields.flatMap { field in ["count", "sum", "min", "max"].map { column(field, $0) } }
    }
}

