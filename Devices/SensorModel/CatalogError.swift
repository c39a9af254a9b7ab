import Foundation

public struct CatalogError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var field: String?
    public var message: String

    public init(file: String, field: String?, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String {
        if let field { return "catalog \(file): \(field): \(message)" }
        return "catalog \(file): \(message)"
    }
}
