import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import QueryService

/// The dashboard's files: served without a token (they hold no data) with a policy that lets the
/// browser run only our own code, while every API route behind them still needs the token.
@Suite struct DashboardRouteTests {
    @Test func pageAndAssetsNeedNoTokenAndAllowOnlyOurOwnCode() async throws {
        try await RouterFixture.application(tokens: ["secret"]).test(.router) { client in
            let (status, type, policy, html) = try await client.execute(uri: "/", method: .get) { response in
                (response.status, response.headers[.contentType], response.headers[DashboardRoutes.securityPolicy], String(buffer: response.body))
            }
            #expect(status == .ok)
            #expect(type == "text/html; charset=utf-8")
            #expect(policy?.hasPrefix("default-src 'self'") == true)
            for asset in ["app.css", "app.js", "views.js", "chart.js", "alerts.js"] {
                #expect(html.contains("/ui/\(asset)"))
                let answer = try await get(client, "/ui/\(asset)")
                #expect(answer.status == .ok && answer.body.count > 500, "\(asset)")
                let own = answer.body.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")  // a name, not a fetch
                #expect(!own.contains("http://") && !own.contains("https://"), "\(asset) refers to another origin")
            }
            let missing = try await get(client, "/ui/nosuch.js").status
            #expect(missing == .notFound)
        }
    }

    @Test func theDataBehindTheDashboardStillNeedsTheToken() async throws {
        try await RouterFixture.application(tokens: ["secret"]).test(.router) { client in
            for uri in ["/v1/overview", "/v1/sensors/temperature/devices/dev-1/stream", "/v1/sensors?x=/ui/"] {
                let status = try await get(client, uri).status
                #expect(status == .unauthorized, "\(uri)")
            }
            let withToken = try await get(client, "/v1/overview", token: "secret").status
            #expect(withToken == .serviceUnavailable)
        }
    }
}
