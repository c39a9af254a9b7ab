public struct TopicError: Error, Sendable, Equatable {
    public var reason: String
}
