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
