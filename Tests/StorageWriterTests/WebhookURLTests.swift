import StorageEvents
import Testing

/// What a rule's webhook may be (`AlertRule.webhookProblem`): the API refuses the rest and the notifier
/// never calls them, as some trap inside the HTTP client (found by review: a port over 65535 with an IP host,
/// a host of percent-encoded brackets).
@Suite struct WebhookURLTests {
    @Test(arguments: [
        "http://127.0.0.1:8080/hook", "https://hooks.example.com/a/b?token=x", "http://[::1]:9000/", "http://localhost/",
        "HTTPS://Example.COM:443/x", "http://my_host.internal/"
    ])
    func accepted(_ url: String) {
        #expect(AlertRule.webhookProblem(url) == nil, "\(url)")
    }

    @Test(arguments: [
        "", "file:///etc/passwd", "ftp://example.com/", "http://", "http:///path", "http://127.0.0.1:99999/", "http://[::1]:70000/",
        "http://127.0.0.1:0/", "http://127.0.0.1:99999999999999999999999/", "http://%5B%5D/", "http://%5B/", "http://[zz]/",
        "http://[]/", "http://user:secret@example.com/", "http://exa mple.com/", "http://bücher.example/", "http://xn--bcher-kva.example/", "http://.../",
        "http://host\u{0}name/", "mailto:a@b.c", "http://\u{FF41}.com/", "http://a.com/x y", "http://a.com/x\ny", "http://a.com/\u{7F}",
        "https://hooks.example.com:/x", "http://[::1]:/x", "http://a.com:",
    ])
    func refused(_ url: String) {
        #expect(AlertRule.webhookProblem(url) != nil, "\(url)")
    }

    /// Logs show where a webhook goes, not the secret in its path, query or credentials, nor a forged line.
    @Test func logsShowNoSecretAndNothingUnprintable() {
        #expect(AlertRule.webhookOrigin("https://hooks.example.com:8443/a/b?token=SECRET") == "https://hooks.example.com:8443/…")
        #expect(AlertRule.webhookOrigin("http://user:pw@example.com/x") == "http://example.com/…")
        #expect(!AlertRule.webhookOrigin("http://example.com/x\n2026 critical FORGED").contains("\n"))
        #expect(!AlertRule.webhookOrigin("http://exa\nmple.com/x").contains("\n"))
        #expect(AlertRule.webhookOrigin("::") == "(a webhook URL that does not parse)")
    }

    /// Read tokens see where a webhook goes, nothing of its path or query (Slack's secret is its path).
    @Test func readersSeeTheOriginOnly() {
        #expect(AlertRule.webhookOrigin("https://hooks.slack.com/services/T00/B00/SECRET") == "https://hooks.slack.com/…")
        #expect(AlertRule.webhookOrigin("http://127.0.0.1:8080/?token=SECRET") == "http://127.0.0.1:8080/…")
        #expect(AlertRule.webhookOrigin("http://[::1]:9000/hook") == "http://[::1]:9000/…")
        #expect(AlertRule.webhookOrigin("https://example.com") == "https://example.com/")
        #expect(AlertRule.webhookOrigin("https://example.com/") == "https://example.com/")
    }
}
