import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import SensorModel
import StorageCore
import TestSupport
import Testing
@testable import QueryService

/// The router with a read pool pointed at a closed port: everything that must be answered without the
/// database (validation, auth, unknown sensor types) is, and everything else is a quick 503.
struct RouterFixture {
    static let catalog: Catalog = {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/sensors").path
        return try! Catalog.load(directory: directory)
    }()

    /// A port nothing listens on: bound once, then closed.
    static let closedPort: Int = try! freeLoopbackPort()

    /// The router in an application that runs the store's services (its read pool) like the service does.
    static func application(
        tokens: [String] = [], adminTokens: [String] = [], registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) -> some ApplicationProtocol {
        let store = store()
        return Application(router: buildRouter(store: store, tokens: tokens, adminTokens: adminTokens, registry: registry), services: store.services)
    }

    /// The router alone, its read pool not running: for what is answered before any database work.
    static func router(
        tokens: [String] = [], adminTokens: [String] = [], registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) -> Router<BasicRequestContext> {
        buildRouter(store: store(), tokens: tokens, adminTokens: adminTokens, registry: registry)
    }

    static func store() -> QueryStore {
        QueryStore(catalog: catalog, pool: ReadPool(url: "postgresql://postgres@127.0.0.1:\(closedPort)/telemetry", size: 2), logger: Logger(label: "test"))
    }
}

struct Answer {
    var status: HTTPResponse.Status
    var body: String
    var errorMessage: String {
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return ((object?["error"] as? [String: Any])?["message"] as? String) ?? "<no error message in \(body)>"
    }
}

func get(_ client: some TestClientProtocol, _ uri: String, token: String? = nil) async throws -> Answer {
    var headers: HTTPFields = [:]
    if let token { headers[.authorization] = "Bearer \(token)" }
    return try await client.execute(uri: uri, method: .get, headers: headers) { Answer(status: $0.status, body: String(buffer: $0.body)) }
}

@Suite struct ParameterValidationTests {
    /// (request, the parameter its 400 must name)
    static let badRequests: [(String, String)] = [
        ("/v1/sensors/temperature/aggregates?bucket=5x", "bucket"),
        ("/v1/sensors/temperature/aggregates?bucket=0s", "bucket"),
        ("/v1/sensors/temperature/aggregates?bucket=", "bucket"),
        ("/v1/sensors/temperature/aggregates?bucket=1s&from=2026-01-01T00:00:00Z&to=2026-01-03T00:00:00Z", "bucket"),
        ("/v1/sensors/temperature/aggregates?from=yesterday", "from"),
        ("/v1/sensors/temperature/aggregates?to=2026-13-01T00:00:00Z", "to"),
        ("/v1/sensors/temperature/aggregates?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("/v1/sensors/temperature/aggregates?fn=median", "fn"),
        ("/v1/sensors/temperature/aggregates?fn=count,,max", "fn"),
        ("/v1/sensors/temperature/aggregates?field=kelvin", "field"),
        ("/v1/sensors/temperature/aggregates?group_by=sensor", "group_by"),
        ("/v1/sensors/temperature/aggregates?device=bad%20id", "device"),
        ("/v1/sensors/temperature/aggregates?device=" + String(repeating: "x", count: 65), "device"),
        ("/v1/sensors/temperature/devices/dev-1/readings?limit=0", "limit"),
        ("/v1/sensors/temperature/devices/dev-1/readings?limit=10001", "limit"),
        ("/v1/sensors/temperature/devices/dev-1/readings?limit=ten", "limit"),
        ("/v1/sensors/temperature/devices/dev-1/readings?order=up", "order"),
        ("/v1/sensors/temperature/devices/dev-1/readings?cursor=%25%25%25", "cursor"),
        ("/v1/sensors/temperature/devices/dev-1/readings?cursor=" + Cursor.encode(["not-a-time"]), "cursor"),
        // Times no reading can have: PostgreSQL cannot even compute them (it answered 503 before).
        ("/v1/sensors/temperature/devices/dev-1/readings?cursor=" + Cursor.encode([String(Int64.max)]), "cursor"),
        ("/v1/sensors/temperature/devices/dev-1/readings?cursor=" + Cursor.encode([String(Int64.min)]), "cursor"),
        ("/v1/sensors/temperature/devices/dev-1/readings?from=1.5", "from"),
        ("/v1/sensors/temperature/devices/dev-1/readings?to=-1", "to"),
        ("/v1/sensors/temperature/devices/bad%20device/readings", "device"),
        ("/v1/sensors/temperature/devices/bad%20device/latest", "device"),
        ("/v1/sensors/temperature/devices?limit=-3", "limit"),
        ("/v1/sensors/temperature/devices?cursor=" + Cursor.encode(["a", "b"]), "cursor"),
        ("/v1/sensors/temperature/devices?cursor=" + Cursor.encode(["bad device"]), "cursor"),
        ("/v1/rejected?limit=100000", "limit"),
        ("/v1/rejected?from=2026-01-01", "from"),
        ("/v1/rejected?cursor=" + Cursor.encode(["x", "y"]), "cursor"),
        ("/v1/rejected?cursor=" + Cursor.encode([String(Int64.max), "1"]), "cursor"),
        ("/v1/rejected?cursor=" + Cursor.encode(["-9000000000000000000", "1"]), "cursor"),
        ("/v1/rejected?reason=" + String(repeating: "r", count: 65), "reason"),
        ("/v1/rejected?order=newest", "order"),
        ("/v1/sensors/temperature/devices?prefix=bad%20prefix", "prefix"),
        ("/v1/sensors/temperature/devices/bad%20device/stream", "device"),
        // Path parameters are decoded once: what they decode to is checked, and text that does not decode is refused.
        ("/v1/sensors/temperature/devices/dev%252d1/latest", "device"),
        ("/v1/sensors/temperature/devices/dev%2F1/readings", "device"),
        ("/v1/sensors/temperature/devices/dev%E0/latest", "device"),
        ("/v1/sensors/temperature/devices/dev%zz/stream", "device"),
        ("/v1/sensors/temp%zzrature/devices/dev-1/latest", "sensor"),
        // No URL can address a device named . or .. (a client or proxy resolves them away).
        ("/v1/sensors/temperature/devices/./latest", "device"),
        ("/v1/sensors/temperature/devices/../readings", "device"),
        ("/v1/sensors/temperature/devices/%2E%2E/stream", "device"),
        ("/v1/sensors/temperature/aggregates?device=..", "device"),
        // Reasons filter by their code: NUL would cut the text PostgreSQL compares (matching everything).
        ("/v1/rejected?reason=bad_magic%00zzz", "reason"),
        ("/v1/rejected?reason=%00", "reason"),
        ("/v1/rejected?reason=", "reason"),
        ("/v1/rejected?reason=Truncated", "reason"),
        // Every cursor that does not decode to one this API made is a 400 naming it.
        ("/v1/rejected?cursor=", "cursor"),
        ("/v1/sensors/temperature/devices?cursor=", "cursor"),
        ("/v1/sensors/temperature/devices/dev-1/readings?cursor=", "cursor"),
        ("/v1/devices/credentials?cursor=", "cursor"),
        ("/v1/devices/credentials?cursor=junk", "cursor"),
        ("/v1/devices/credentials?cursor=" + Cursor.encode(["bad device"]), "cursor"),
        ("/v1/rejected/over-quota?cursor=junk", "cursor"),
    ]

    @Test(arguments: badRequests) func badParameterIs400NamingIt(uri: String, parameter: String) async throws {
        try await RouterFixture.application().test(.router) { client in
            let answer = try await get(client, uri)
            #expect(answer.status == .badRequest, "\(uri): \(answer.status) \(answer.body)")
            #expect(answer.errorMessage.hasPrefix("\(parameter):"), "\(uri): \(answer.errorMessage)")
            #expect(answer.body.contains(#""code":"invalid_parameter""#))
        }
    }

    @Test(arguments: [
        "/v1/sensors/thermometer/aggregates", "/v1/sensors/thermometer/devices", "/v1/sensors/thermometer/devices/dev-1/latest",
        "/v1/sensors/thermometer/devices/dev-1/readings", "/v1/rejected?sensor=thermometer", "/v1/sensors/thermometer/devices/dev-1/stream",
    ])
    func unknownSensorIs404(uri: String) async throws {
        try await RouterFixture.application().test(.router) { client in
            let answer = try await get(client, uri)
            #expect(answer.status == .notFound, "\(uri): \(answer.body)")
            #expect(answer.errorMessage.contains("thermometer"))
        }
    }

    @Test func catalogNeedsNoDatabase() async throws {
        try await RouterFixture.application().test(.router) { client in
            let answer = try await get(client, "/v1/sensors")
            #expect(answer.status == .ok)
            let sensors = try #require((try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["sensors"] as? [[String: Any]])
            #expect(Set(sensors.compactMap { $0["name"] as? String }) == Set(RouterFixture.catalog.sensors.map(\.name)))
        }
    }

    /// The default catalog's firmware topics are listed with what a device must match: pattern, format,
    /// key paths (json) or field (text).
    @Test func catalogListsEachSensorTypesSources() async throws {
        let body = try await RouterFixture.application().test(.router) { client in try await get(client, "/v1/sensors").body }
        let sensors = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["sensors"] as? [[String: Any]])
        func sources(_ name: String) throws -> [[String: Any]] {
            let sensor = try #require(sensors.first { $0["name"] as? String == name })
            return try #require(sensor["sources"] as? [[String: Any]], "\(name): \(sensor)")
        }
        let temperature = try sources("temperature")
        #expect(temperature.map { $0["topic"] as? String } == ["tele/{device}/SENSOR", "{device}/events/rpc", "{device}/sensor/temperature/state"])
        #expect(temperature.map { $0["format"] as? String } == ["json", "json", "text"])
        let tasmota = try #require(temperature[0]["fields"] as? [String: [String]])
        #expect(tasmota == ["celsius": ["AM2301.Temperature", "BME280.Temperature", "SHT3X.Temperature", "DS18B20.Temperature"]])
        #expect(temperature[0]["time"] is NSNull)
        #expect((temperature[0]["description"] as? String)?.hasPrefix("Tasmota") == true)
        #expect(temperature[1]["fields"] as? [String: [String]] == ["celsius": [#"params."temperature:0".tC"#]])
        #expect(temperature[1]["time"] as? String == "params.ts")
        #expect(temperature[2]["field"] as? String == "celsius" && temperature[2]["fields"] == nil)
        #expect(try sources("humidity").map { $0["topic"] as? String } == ["tele/{device}/SENSOR", "{device}/events/rpc"])
        #expect(try sources("pressure").first?["fields"] as? [String: [String]] == ["pressure": ["BME280.Pressure", "BMP280.Pressure"]])
        // A sensor type without sources says so with an empty list, not a missing key.
        for sensor in sensors where RouterFixture.catalog[sensor["name"] as? String ?? ""]?.sources.isEmpty == true {
            #expect((sensor["sources"] as? [Any])?.isEmpty == true, "\(sensor)")
        }
    }
}

@Suite struct AuthAndAvailabilityTests {
    @Test func tokenIsRequiredWhenConfigured() async throws {
        try await RouterFixture.application(tokens: ["s3cret"]).test(.router) { client in
            for uri in ["/v1/sensors", "/metrics", "/openapi.yaml", "/v1/sensors/temperature/aggregates?bucket=bad"] {
                let missing = try await get(client, uri)
                #expect(missing.status == .unauthorized, "\(uri)")
                #expect(missing.body.contains(#""code":"unauthorized""#))
                let wrong = try await get(client, uri, token: "guess")
                #expect(wrong.status == .unauthorized, "\(uri)")
            }
            #expect(try await get(client, "/v1/sensors", token: "s3cret").status == .ok)
            // The scheme is case-insensitive (RFC 7235), the token is not.
            for header in ["bearer s3cret", "BEARER s3cret"] {
                let status = try await client.execute(uri: "/v1/sensors", method: .get, headers: [.authorization: header]) { $0.status }
                #expect(status == .ok, "\(header)")
            }
            let status = try await client.execute(uri: "/v1/sensors", method: .get, headers: [.authorization: "Bearer S3CRET"]) { $0.status }
            #expect(status == .unauthorized)
            // No route: nothing to protect, and nothing served.
            #expect(try await get(client, "/nowhere").status == .notFound)
            #expect(try await get(client, "/healthz").status == .ok)
            // Open, and honest: the database is away.
            #expect(try await get(client, "/readyz").status == .serviceUnavailable)
        }
    }

    /// Every spelling of an admin route's path that reaches a handler is checked as that route: a read
    /// token gets 403 and no token 401 whatever the path looks like (404 where nothing is routed).
    /// Over a real socket, so the raw path is what the server parses.
    @Test(arguments: ["PUT", "GET", "DELETE", "POST"])
    func adminRoutesFollowTheMatchedRoute(method: String) async throws {
        let paths = [
            "/v1/devices/x/credentials", "//v1/devices/x/credentials", "/v1//devices/x/credentials", "/v1/devices//x/credentials",
            "/v1/devices/x/credentials/", "/v1/devices/x/credentials//", "//v1//devices//x//credentials//", "/v1/./devices/x/credentials",
            "/./v1/devices/x/credentials", "/v1/devices/x/./credentials", "/v1/devices%2Fx/credentials", "/v1%2Fdevices%2Fx%2Fcredentials",
            "/V1/devices/x/credentials", "/v1/DEVICES/x/CREDENTIALS", "/v1/devices/credentials", "//v1/devices/credentials",
            "/v1/devices/credentials/", "/v1/devices/credentials//", "/v1/devices/./credentials", "/v1/x/../devices/x/credentials",
            "/v1/devices/x/credentials?x=1", "/v1/devices/x/credentials;x", "/v1/devices/x/credentials%00",
        ]
        let router = RouterFixture.router(tokens: ["reader"], adminTokens: ["admin"])
        try await Application(router: router).test(.live) { client in
            var routed = 0
            for path in paths {
                let request = HTTPRequest.Method(method)!
                let body = ByteBuffer(string: #"{"devices":[{"device":"x"}]}"#)
                let asReader = try await client.execute(uri: path, method: request, headers: [.authorization: "Bearer reader"], body: body) { $0.status }
                #expect(asReader == .forbidden || asReader == .notFound, "\(method) \(path) with a read token: \(asReader)")
                let anonymous = try await client.execute(uri: path, method: request, body: body) { $0.status }
                #expect(anonymous == .unauthorized || anonymous == .notFound, "\(method) \(path) without a token: \(anonymous)")
                if asReader == .forbidden { routed += 1 }
            }
            // The variants do reach the routes (else this test would prove nothing): the plain path and `//v1/...` at least.
            #expect(routed >= 2, "\(method): \(routed) variants routed")
        }
    }

    @Test func databaseAwayIs503Quickly() async throws {
        try await RouterFixture.application().test(.router) { client in
            for uri in ["/v1/sensors/temperature/devices", "/v1/sensors/temperature/devices/dev-1/latest",
                        "/v1/sensors/power/aggregates?group_by=device", "/v1/rejected", "/readyz"] {
                let start = ContinuousClock.now
                let answer = try await get(client, uri)
                #expect(answer.status == .serviceUnavailable, "\(uri): \(answer.body)")
                // Nothing listens there: the pool's connect fails at once. The bound is far wider because in a
                // full run the blocking integration tests (sync tests run on the test process's two
                // cooperative threads) can delay this task's resumption by a minute and more on a loaded
                // machine (72 s seen with other builds running); a hang would not end.
                #expect(ContinuousClock.now - start < .seconds(180), "\(uri)")
            }
        }
    }

    @Test func metricsCountRequestsPerRoute() async throws {
        let registry = PrometheusCollectorRegistry()
        try await RouterFixture.application(registry: registry).test(.router) { client in
            _ = try await get(client, "/v1/sensors")
            _ = try await get(client, "/v1/sensors")
            _ = try await get(client, "/v1/sensors/temperature/aggregates?bucket=bad")
            let text = try await get(client, "/metrics").body
            #expect(text.contains(#"http_requests_total{route="/v1/sensors",method="GET",status="200"} 2"#), "\(text)")
            #expect(text.contains(#"http_requests_total{route="/v1/sensors/{sensor}/aggregates",method="GET",status="400"} 1"#), "\(text)")
            #expect(text.contains(#"http_request_duration_seconds_count{route="/v1/sensors",method="GET",status="200"} 2"#), "\(text)")
        }
    }
}

@Suite struct OpenAPITests {
    /// (method, path) of every operation under `paths:` in the served YAML.
    static func documentedOperations(_ yaml: String) -> Set<String> {
        var operations = Set<String>()
        var inPaths = false
        var path: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            let indent = line.prefix { $0 == " " }.count
            let content = line.trimmingCharacters(in: .whitespaces)
            if indent == 0 { inPaths = content == "paths:"; continue }
            guard inPaths, content.hasSuffix(":") else { continue }
            if indent == 2 { path = String(content.dropLast()) }
            if indent == 4, let path, ["get", "put", "post", "delete", "patch", "head", "options"].contains(content.dropLast()) {
                operations.insert("\(content.dropLast().uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func documentDescribesExactlyTheRoutes() async throws {
        let router = RouterFixture.router()
        let served = Set(router.routes.map { "\($0.method) \($0.path)" })
        let yaml = try await Application(router: router).test(.router) { client in try await get(client, "/openapi.yaml").body }
        let documented = Self.documentedOperations(yaml)
        #expect(served.count >= 10)
        #expect(documented == served, "only served: \(served.subtracting(documented)), only documented: \(documented.subtracting(served))")
        #expect(yaml.hasPrefix("openapi: 3.1.0\n"))
    }

    /// The lines of the schema `name` under `components: schemas:`, up to the next schema.
    static func schema(_ name: String, in yaml: String) -> [Substring] {
        let lines = yaml.split(separator: "\n")
        guard let start = lines.firstIndex(of: "    \(name):") else { return [] }
        let rest = lines[(start + 1)...]
        return Array(rest.prefix { $0.hasPrefix("      ") })
    }

    /// Every key `/v1/sensors` serves for a sensor type and for each of its sources is a property of
    /// the `Catalog` or `Source` schema, and the formats a source may name are the ones this build reads.
    @Test func catalogSchemaDocumentsEveryKeyServed() async throws {
        let router = RouterFixture.router()
        let (yaml, body) = try await Application(router: router).test(.router) { client in
            (try await get(client, "/openapi.yaml").body, try await get(client, "/v1/sensors").body)
        }
        let sensors = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["sensors"] as? [[String: Any]])
        let catalog = Self.schema("Catalog", in: yaml)
        let source = Self.schema("Source", in: yaml)
        func documents(_ lines: [Substring], _ key: String) -> Bool {
            lines.contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("\(key):") }
        }
        let sourceKeys = Set(sensors.flatMap { ($0["sources"] as? [[String: Any]] ?? []).flatMap(\.keys) })
        #expect(sourceKeys.isSuperset(of: ["topic", "format", "description", "fields", "time", "field"]))
        for key in Set(sensors.flatMap(\.keys)) { #expect(documents(catalog, key), "Catalog does not document '\(key)'") }
        for key in sourceKeys { #expect(documents(source, key), "Source does not document '\(key)'") }
        let formats = PayloadFormat.allCases.map(\.rawValue).joined(separator: ", ")
        #expect(source.contains { $0.contains("enum: [\(formats)]") }, "Source.format's enum is not [\(formats)]")
    }
}

@Suite struct TextFormatTests {
    @Test(arguments: [0, 1, 999_999, 1_767_225_600_000_000, 1_767_225_599_999_999, 951_782_400_123_456, 253_402_300_799_999_999] as [Int64])
    func timeTextRoundTrips(micros: Int64) {
        let text = TimeText.format(micros)
        #expect(text.count == 27 && text.hasSuffix("Z"))
        #expect(TimeText.parse(text) == micros)
    }

    @Test func timeTextParsesOffsetsAndMilliseconds() {
        #expect(TimeText.format(TimeText.parse("2026-01-01T01:30:00+01:30")!) == "2026-01-01T00:00:00.000000Z")
        #expect(TimeText.parse("2026-01-01T00:00:00.123456789Z") == 1_767_225_600_123_456)
        #expect(TimeText.parse("1767225600123") == 1_767_225_600_123_000)
        #expect(TimeText.format(952_000_000_000_000) == "2000-03-02T12:26:40.000000Z")
        for bad in ["2026-02-30T00:00:00Z", "2026-01-01", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00.Z", "x"] {
            #expect(TimeText.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func cursorRoundTripsAndRejectsForeignText() throws {
        for parts in [["1767225600000000"], ["dev-1"], ["1767225600000000", "42"]] {
            let text = Cursor.encode(parts)
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(try Cursor.decode(text, parts: parts.count) == parts)
        }
        #expect(throws: APIError.self) { try Cursor.decode(Cursor.encode(["a"]), parts: 2) }
        #expect(throws: APIError.self) { try Cursor.decode("!!!", parts: 1) }
        #expect(throws: APIError.self) { try Cursor.decode(String(repeating: "A", count: 400), parts: 1) }
    }
}
