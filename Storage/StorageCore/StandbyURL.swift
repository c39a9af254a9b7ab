import Foundation

/// The same database, for reads that may come from a standby: libpq's `target_session_attrs=prefer-standby`
/// (PostgreSQL 14's libpq and later) connects to a standby among the URL's hosts if one answers, else to
/// any of them. With one host it changes nothing.
public enum StandbyURL {
    /// `url` with its `target_session_attrs` set to `prefer-standby`, as a URL or a `key=value` string.
    public static func preferringStandby(_ url: String) -> String {
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            let (base, query) = url.firstIndex(of: "?").map { (url[..<$0], url[url.index(after: $0)...]) } ?? (url[...], "")
            let kept = query.split(separator: "&").filter { !$0.hasPrefix("target_session_attrs=") }
            return base + "?" + (kept + ["target_session_attrs=prefer-standby"]).joined(separator: "&")
        }
        let kept = url.split(separator: " ").filter { !$0.hasPrefix("target_session_attrs=") }
        return (kept + ["target_session_attrs=prefer-standby"]).joined(separator: " ")
    }
}
