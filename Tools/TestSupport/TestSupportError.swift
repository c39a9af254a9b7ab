/// A test or benchmark could not set up what it measures (a socket, a port, an answer).
public struct TestSupportError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
