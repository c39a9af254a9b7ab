import CLibCrypto
import Foundation

/// A credential operation refused or failed: a code for the API and a message naming what is wrong.
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code): \(message)" }
}
