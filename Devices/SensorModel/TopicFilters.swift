/// MQTT topic filters that some topic matches both of (`+` one level, `#` the rest, the parent included).
public enum TopicFilters {
    public static func overlap(_ a: String, _ b: String) -> Bool {
        let left = a.split(separator: "/", omittingEmptySubsequences: false)
        let right = b.split(separator: "/", omittingEmptySubsequences: false)
        var index = 0
        while index < left.count && index < right.count {
            if left[index] == "#" || right[index] == "#" { return true }
            if left[index] != "+" && right[index] != "+" && left[index] != right[index] { return false }
            index += 1
        }
        if left.count == right.count { return true }
        // `a/#` also matches `a`.
        let longer = left.count > right.count ? left : right
        return longer.count == index + 1 && longer[index] == "#"
    }
}
