/// Text written into SQL itself, for statements that are prepared once or sent with others in one round
/// trip, where a parameter can't go. Standard-conforming strings (PostgreSQL's default since 9.1).
package enum SQLText {
    package static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    /// An integer array in PostgreSQL's text form (`{1,2,3}`), as a parameter's value or inside a literal.
    package static func array(_ values: some Sequence<some BinaryInteger>) -> String {
        "{" + values.map { String($0) }.joined(separator: ",") + "}"
    }

    /// A text array in PostgreSQL's text form, each element quoted (`{"a","b"}`), as a parameter's value.
    package static func textArray(_ values: some Sequence<String>) -> String {
        "{" + values.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
    }
}
