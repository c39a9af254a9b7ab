public enum AggregateFunction: String, Sendable, CaseIterable {
    case count, sum, avg, min, max
}
