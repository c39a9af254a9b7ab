extension PlatformSettings {
    /// `TELEMETRY_*` variables of the project's scripts and tests, which are not settings.
    static let otherVariables: Set<String> = ["TELEMETRY_CONFIG", "TELEMETRY_SWIFT_FLAGS", "TELEMETRY_BIN_DIR"]

    /// `TELEMETRY_*` variables that are no setting (a misspelt one would otherwise be ignored without a
    /// word), each with the setting it is closest to when one is a typo away.
    public static func unknownVariables(in environment: [String: String]) -> [(variable: String, closest: String?)] {
        let known = Set(all.map { Setting.variable(of: $0.key) })
        return environment.keys.filter { $0.hasPrefix("TELEMETRY_") && !$0.hasPrefix("TELEMETRY_TEST_") && !known.contains($0) && !otherVariables.contains($0) }
            .sorted()
            .map { variable in
                let closest = known.map { ($0, editDistance(variable, $0)) }.min { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
                return (variable, closest.flatMap { $0.1 <= 2 ? $0.0 : nil })
            }
    }

    /// Levenshtein distance over bytes (variable names are ASCII).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
