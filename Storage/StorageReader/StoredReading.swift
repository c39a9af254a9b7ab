/// Rows as the query side reads them back.
public struct StoredReading: Sendable, Equatable {
    public var time: Int64
    public var seq: Int64?
    /// One per catalog field, nil when the reading did not carry it.
    public var values: [Double?]
}

public struct StoredDevice: Sendable, Equatable {
    public var id: Int32
    public var device: String
    public var firstSeen: Int64
    public var lastSeen: Int64
}

public struct StoredRejection: Sendable, Equatable {
    public var id: Int64
    public var sensor: String?
    public var topic: String
    public var receivedAt: Int64
    public var reason: String
    public var payload: [UInt8]
}

public enum AggregateFunction: String, Sendable, CaseIterable {
    case count, sum, avg, min, max
}

/// One bucket of one field, for one device or for all chosen devices.
public struct AggregatePoint: Sendable, Equatable {
    public var time: Int64
    public var count: Int64
    public var sum: Double
    public var min: Double
    public var max: Double
    public var avg: Double { sum / Double(count) }

    public init(time: Int64, count: Int64, sum: Double, min: Double, max: Double) {
        self.time = time
        self.count = count
        self.sum = sum
        self.min = min
        self.max = max
    }
}

public struct AggregateSeries: Sendable, Equatable {
    public var device: String?
    public var field: String
    public var points: [AggregatePoint]

    public init(device: String?, field: String, points: [AggregatePoint]) {
        self.device = device
        self.field = field
        self.points = points
    }
}
