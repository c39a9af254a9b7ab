import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension AlertRule {
    /// Why `text` cannot be a rule's webhook, or nil when it can: an `http://` or `https://` URL with a host
    /// name (ASCII letters, digits, `-`, `.`, `_`; not `xn--`), an IPv4 address or a bracketed IPv6 address, a port in
    /// 1...65535 if any, and no credentials (they would not be sent). The API refuses the others and the
    /// notifier never calls one: an out-of-range port or a host that is empty once decoded trap inside the
    /// HTTP client, which would take the ingest service down at every start.
    public static func webhookProblem(_ text: String) -> String? {
        // Foundation maps a full-width `ａ.com` to `a.com` (the rule would show one host and call another), and
        // a control character would reach the logs: only printable ASCII, the rest percent-encoded.
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return "must be printable ASCII without spaces (percent-encode the rest)"
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return "must be an http:// or https:// URL"
        }
        guard components.percentEncodedUser == nil, components.percentEncodedPassword == nil else {
            return "must not carry credentials (user:password@): they are not sent; put a secret in the path or query"
        }
        // Decoded as the HTTP client decodes it: Foundation turns percent escapes and `xn--` labels into
        // characters, which a name lookup does not take.
        guard let host = components.host, !host.isEmpty else { return "must name a host" }
        if host.hasPrefix("[") {
            var address = in6_addr()
            guard host.hasSuffix("]"), host.count > 2, inet_pton(AF_INET6, String(host.dropFirst().dropLast()), &address) == 1 else {
                return "\(host) is not an IPv6 address"
            }
        } else {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
            guard host.allSatisfy(allowed.contains), host.contains(where: { $0 != "." }) else {
                return "the host may hold ASCII letters, digits, '-', '.' and '_' (names in other scripts are not supported)"
            }
        }
        // `host:/path` has no port to Foundation, and the client would use the scheme's own: say it.
        let authority = text.drop { $0 != "/" }.dropFirst(2).prefix { !"/?#".contains($0) }
        if authority.hasSuffix(":") { return "the port is empty (give one in 1...65535, or none)" }
        if components.rangeOfPort != nil {
            guard let port = components.port, (1...65535).contains(port) else { return "the port must be 1...65535" }
        }
        return nil
    }

    /// The webhook as read tokens and logs see it: scheme, host and port, `/…` for the rest (a secret lives
    /// in the path, as Slack's does, or in the query), and nothing unprintable (a stored URL may predate
    /// `webhookProblem`).
    public static func webhookOrigin(_ text: String) -> String {
        guard let components = URLComponents(string: text), let scheme = components.scheme, let host = components.percentEncodedHost else {
            return "(a webhook URL that does not parse)"
        }
        let port = components.port.map { ":\($0)" } ?? ""
        let rest = components.percentEncodedPath.count > 1 || components.percentEncodedQuery != nil || components.percentEncodedFragment != nil
        let shown = "\(scheme)://\(host)\(port)/" + (rest ? "…" : "")
        return String(String.UnicodeScalarView(shown.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F || $0 == "…" ? $0 : "?" }))
    }
}
