/// A key path into a JSON object: segments split at `.`, a segment in double quotes taken as it is
/// (`params."temperature:0".tC`).
public enum KeyPath {
    public static func parse(_ text: String) -> [String]? {
        var segments: [String] = []
        var current = ""
        var quoted = false
        var closedQuote = false
        for character in text {
            if quoted {
                if character == "\"" { quoted = false; closedQuote = true } else { current.append(character) }
            } else if character == "." {
                guard !current.isEmpty || closedQuote else { return nil }
                segments.append(current)
                current = ""
                closedQuote = false
            } else if character == "\"" {
                guard current.isEmpty, !closedQuote else { return nil }
                quoted = true
            } else {
                guard !closedQuote else { return nil }
                current.append(character)
            }
        }
        guard !quoted, !current.isEmpty || closedQuote else { return nil }
        segments.append(current)
        return segments.count <= 16 ? segments : nil
    }
}
