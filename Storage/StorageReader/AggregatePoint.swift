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
