/// How long rows are kept. Nil keeps them for ever.
public struct Retention: Sendable, Hashable, Codable {
    public var raw: Duration?
    public var rollup1m: Duration?
    public var rollup1h: Duration?

    public init(raw: Duration? = nil, rollup1m: Duration? = nil, rollup1h: Duration? = nil) {
        self.raw = raw
        self.rollup1m = rollup1m
        self.rollup1h = rollup1h
    }
}
