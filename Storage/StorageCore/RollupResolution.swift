import SensorModel

public enum RollupResolution: Sendable, CaseIterable {
    case minute, hour

    public var micros: Int64 { self == .minute ? 60_000_000 : 3_600_000_000 }
    public var truncUnit: String { self == .minute ? "minute" : "hour" }
}
