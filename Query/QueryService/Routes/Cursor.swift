import Foundation
import Hummingbird
import SensorModel

/// Cursors are opaque to clients: base64url of a small text the server can check.
enum Cursor {
    static func encode(_ parts: [String]) -> String {
        Data(parts.joined(separator: "|").utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String, parts count: Int) throws -> [String] {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard !text.isEmpty, text.count <= 200, let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8) else {
            throw APIError.invalid("cursor", "is not a cursor this API returned")
        }
        let parts = decoded.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == count else { throw APIError.invalid("cursor", "is not a cursor this API returned") }
        return parts
    }
}
