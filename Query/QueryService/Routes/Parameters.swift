import Foundation
import Hummingbird
import SensorModel

/// Query parameter parsing: every bad value is a 400 that names the parameter.
struct Parameters {
    let request: Request
    static let maxTime: Int64 = 253_402_300_799_999_999

    init(_ request: Request) { self.request = request }

    func string(_ name: String) -> String? {
        request.uri.queryParameters.get(name).map { String($0) }
    }

    func all(_ name: String) -> [String] { request.uri.queryParameters.getAll(name).map { String($0) } }

    func time(_ name: String, default fallback: Int64) throws -> Int64 {
        guard let text = string(name) else { return fallback }
        guard let value = TimeText.parse(text), value >= 0, value <= Self.maxTime else {
            throw APIError.invalid(name, "must be an RFC 3339 time (2026-01-01T00:00:00Z) or integer epoch milliseconds, between 1970 and 9999")
        }
        return value
    }

    /// A time carried in a cursor: one the API could have put there (1970...9999), else the cursor is not its own.
    static func cursorTime(_ text: String) throws -> Int64 {
        guard let value = Int64(text), (0...maxTime).contains(value) else {
            throw APIError.invalid("cursor", "is not a cursor this API returned (its time is outside 1970...9999)")
        }
        return value
    }

    func limit(default fallback: Int, max: Int) throws -> Int {
        guard let text = string("limit") else { return fallback }
        guard let value = Int(text), (1...max).contains(value) else {
            throw APIError.invalid("limit", "must be an integer from 1 to \(max)")
        }
        return value
    }

    /// `order=asc` (the default) or `order=desc`; a cursor continues in the order it was made in.
    func ascending() throws -> Bool {
        switch string("order") ?? "asc" {
        case "asc": return true
        case "desc": return false
        default: throw APIError.invalid("order", "must be asc or desc")
        }
    }

    func range() throws -> (from: Int64, to: Int64) {
        let to = try time("to", default: Self.maxTime)
        let from = try time("from", default: 0)
        guard from < to else { throw APIError.invalid("from", "must be before to") }
        return (from, to)
    }

    func device(_ text: String, name: String = "device") throws -> String {
        guard Topic.isValidDevice(text) else { throw APIError.invalid(name, "a device id is \(Topic.deviceRule)") }
        return text
    }

    /// A device id carried in a cursor; `.` and `..` too, which were stored before ids were checked for them,
    /// so a page that ends on one still continues.
    func deviceCursor(_ text: String) throws -> String {
        guard Topic.isValidDevice(text) || text == "." || text == ".." else {
            throw APIError.invalid("cursor", "is not a cursor this API returned")
        }
        return text
    }

    /// Text matched against codes (a dead letter's reason starts with one): 1-64 of a-z and `_`, as the
    /// codes are. Anything else matches none, and a NUL would cut the text PostgreSQL compares.
    func code(_ name: String) throws -> String? {
        guard let text = string(name) else { return nil }
        guard (1...64).contains(text.utf8.count), text.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) else {
            throw APIError.invalid(name, "must be 1-64 characters of a-z and _ (a code or its start, e.g. truncated)")
        }
        return text
    }

    /// A path parameter, percent-decoded once: the router matches the path as sent, so `emu%2Dx` is the
    /// device `emu-x`. Text that does not decode to UTF-8 is a 400 naming the parameter.
    static func path(_ name: String, _ context: some RequestContext) throws -> String {
        guard let text = context.parameters.get(name)?.removingPercentEncoding else {
            throw APIError.invalid(name, "is not percent-encoded UTF-8")
        }
        return text
    }
}

