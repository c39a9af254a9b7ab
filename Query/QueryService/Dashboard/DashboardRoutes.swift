import Hummingbird

/// The dashboard at `/`: one HTML page, a style sheet and four scripts of this project's own, compiled
/// into the binary (no CDN, nothing to install beside it). They hold no data, so they are served without
/// a token; the page asks for one and sends it as the bearer header on every API call.
enum DashboardRoutes {
    static let assets: [String: (type: String, body: String)] = [
        "app.css": ("text/css; charset=utf-8", DashboardStyle.css + DashboardAlerts.css),
        "chart.js": ("text/javascript; charset=utf-8", DashboardChart.js),
        "app.js": ("text/javascript; charset=utf-8", DashboardScript.js),
        "views.js": ("text/javascript; charset=utf-8", DashboardViews.js),
        "alerts.js": ("text/javascript; charset=utf-8", DashboardAlerts.js),
    ]

    static let securityPolicy = HTTPFields.Element.Name("Content-Security-Policy")!

    /// Our own files only: the browser refuses any other script, style or connection.
    static let headers: HTTPFields = [
        .cacheControl: "no-cache",
        securityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        HTTPFields.Element.Name("X-Content-Type-Options")!: "nosniff",
    ]

    static func isAsset(_ path: String) -> Bool { path == "/" || path.hasPrefix("/ui/") }

    static func add(to router: Router<some RequestContext>) {
        router.get("/") { _, _ in response(type: "text/html; charset=utf-8", body: DashboardStyle.html) }
        router.get("/ui/:asset") { _, context in
            guard let name = context.parameters.get("asset"), let asset = assets[name] else {
                throw APIError.notFound("no dashboard asset by that name")
            }
            return response(type: asset.type, body: asset.body)
        }
    }

    static func response(type: String, body: String) -> Response {
        var headers = Self.headers
        headers[.contentType] = type
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
