/// Text written into SQL itself, for statements that are prepared once or sent with others in one round
/// trip, where a parameter can't go. Standard-conforming strings (PostgreSQL's default since 9.1).
package enum SQLText {
    package static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
