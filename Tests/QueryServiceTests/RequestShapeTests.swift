import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import QueryService

/// What a tester sent that the validation of single parameters does not cover: percent-encoded path
/// parameters, admin bodies with keys or entries the API does not take, HEAD on the health checks and
/// paths no route serves. The fixture's database is away: a request that passes validation is a 503.
@Suite struct RequestShapeTests {
    /// `%2d` is `-`: the device and sensor type a client percent-encoded are the ones it named.
    @Test(arguments: [
        "/v1/sensors/temperature/devices/emu%2dtemperature-0000/latest", "/v1/sensors/temperature/devices/emu%2Dtemperature-0000/readings",
        "/v1/sensors/temperature/devices/emu%2dtemperature-0000/stream", "/v1/sensors/temp%65rature/devices/dev-1/latest",
        "/v1/sensors/temp%65rature/devices", "/v1/sensors/temp%65rature/aggregates", "/v1/devices/emu%2dx/credentials",
    ])
    func percentEncodedPathParametersAreDecoded(uri: String) async throws {
        try await RouterFixture.application().test(.router) { client in
            let answer = try await get(client, uri)
            #expect(answer.status == .serviceUnavailable, "\(uri): \(answer.status) \(answer.body)")
        }
    }

    /// (method, path, body, the field its 400 must name)
    static let badAdminRequests: [(String, String, String, String)] = [
        ("PUT", "/v1/devices/x/credentials", #"{"sensors":["temperature","temperature"]}"#, "sensors"),
        ("PUT", "/v1/devices/x/credentials", #"{"password":"chosen"}"#, "password"),
        ("PUT", "/v1/devices/x/credentials", #"{"sensors":null,"Sensors":["humidity"]}"#, "Sensors"),
        ("PUT", "/v1/devices/./credentials", "", "device"),
        ("PUT", "/v1/devices/%2E%2E/credentials", "", "device"),
        ("PUT", "/v1/devices/INGEST-temperature/credentials", "", "device"),
        ("PUT", "/v1/devices/Broker-Sync-Probe/credentials", "", "device"),
        ("PUT", "/v1/devices/TELEMETRY/credentials", "", "device"),
        ("POST", "/v1/devices/credentials", #"{"devices":[{"device":"x","sensors":["humidity","humidity"]}]}"#, "devices[0].sensors"),
        ("POST", "/v1/devices/credentials", #"{"devices":[{"device":"x"},{"device":"y","password":"chosen"}]}"#, "devices[1].password"),
        ("POST", "/v1/devices/credentials", #"{"devices":[{"device":"x"}],"rotate":false}"#, "rotate"),
        ("POST", "/v1/devices/credentials", #"{"devices":[{"device":".."}]}"#, "devices[0].device"),
        ("POST", "/v1/devices/credentials", #"{"devices":[{"device":"Ingest-unrouted"}]}"#, "devices[0].device"),
    ]

    @Test(arguments: badAdminRequests)
    func adminBodiesAreCheckedWhole(method: String, path: String, body: String, field: String) async throws {
        try await RouterFixture.application().test(.router) { client in
            let answer = try await client.execute(uri: path, method: HTTPRequest.Method(method)!, body: ByteBuffer(string: body)) {
                Answer(status: $0.status, body: String(buffer: $0.body))
            }
            #expect(answer.status == .badRequest, "\(method) \(path) \(body): \(answer.status) \(answer.body)")
            #expect(answer.errorMessage.hasPrefix("\(field):"), "\(method) \(path) \(body): \(answer.errorMessage)")
        }
    }

    /// Load balancers and uptime checks probe with HEAD.
    @Test func healthChecksAnswerHead() async throws {
        try await RouterFixture.application(tokens: ["secret"]).test(.router) { client in
            let health = try await client.execute(uri: "/healthz", method: .head) { ($0.status, $0.body.readableBytes) }
            #expect(health.0 == .ok && health.1 == 0)
            let ready = try await client.execute(uri: "/readyz", method: .head) { $0.status }
            #expect(ready == .serviceUnavailable)
        }
    }

    /// A path no route serves, or a method a path does not take, answers in the API's error shape; with
    /// tokens configured it is still a 404, not a 401 (there is nothing to protect).
    @Test(arguments: [("GET", "/nowhere"), ("GET", "/v1/nowhere"), ("DELETE", "/v1/sensors"), ("POST", "/healthz")])
    func unroutedRequestsAnswerInTheErrorShape(method: String, path: String) async throws {
        try await RouterFixture.application(tokens: ["secret"]).test(.router) { client in
            let answer = try await client.execute(uri: path, method: HTTPRequest.Method(method)!) { response in
                (Answer(status: response.status, body: String(buffer: response.body)), response.headers[.contentType])
            }
            #expect(answer.0.status == .notFound, "\(method) \(path): \(answer.0.status)")
            #expect(answer.0.body.contains(#""code":"not_found""#), "\(method) \(path): \(answer.0.body)")
            #expect(answer.1 == "application/json")
        }
    }
}
