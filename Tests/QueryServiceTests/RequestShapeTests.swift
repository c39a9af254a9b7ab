import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import QueryService

/// What a tester sent that the validation of single parameters does not cover: percent-encoded path
/// parameters. The fixture's database is away: a request that passes validation is a 503.
@Suite struct RequestShapeTests {
    /// `%2d` is `-`: the device and sensor type a client percent-encoded are the ones it named.
    @Test(arguments: [
        "/v1/sensors/temperature/devices/emu%2dtemperature-0000/latest", "/v1/sensors/temperature/devices/emu%2Dtemperature-0000/readings",
        "/v1/sensors/temperature/devices/emu%2dtemperature-0000/stream", "/v1/sensors/temp%65rature/devices/dev-1/latest",
        "/v1/sensors/temp%65rature/devices", "/v1/sensors/temp%65rature/aggregates", "/v1/devices/emu%2dx/credentials",
    ])
    func percentEncodedPathParametersAreDecoded(uri: String) async throws {
        try await Application(router: RouterFixture.router()).test(.router) { client in
            let answer = try await get(client, uri)
            #expect(answer.status == .serviceUnavailable, "\(uri): \(answer.status) \(answer.body)")
        }
    }
}
