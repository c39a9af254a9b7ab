import Foundation
import Synchronization

public struct JournalError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
