/// Rows as the query side reads them back.
public struct StoredReading: Sendable, Equatable {
    public var time: Int64
    public var seq: Int64?
    /// One per catalog field, nil when the reading did not carry it.
    public var values: [Double?]
}

