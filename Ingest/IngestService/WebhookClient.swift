import AsyncHTTPClient
import Foundation
import NIOCore
import StorageEvents

/// POSTs alert events to webhooks (AsyncHTTPClient on SwiftNIO, a client of the notifier's own). Only the
/// response's status matters: the body is never read — the response is abandoned once its head is in (an
/// HTTP/1 body still arriving: the connection is closed) — so a receiver that answers with an endless body
/// costs nothing, and each call has a hard deadline however slowly the receiver trickles. Redirects are not
/// followed: a 3xx is a failure.
///
/// Not URLSession: on Linux it ignores the `.cancel` disposition (an endless body was read until the
/// deadline) and, under load, a transfer's socket events waited for the next timer of its session — a hung
/// webhook's deadline — so one hung webhook held every other webhook's answer for 10 s.
struct WebhookClient: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// No answer within this long, from connecting to the status line, is a failure.
    static let deadline: Duration = .seconds(10)
    private static let deadlineSeconds = Int64(deadline.components.seconds)

    let client: HTTPClient

    /// Runs `body` with a client that is shut down when it returns.
    static func with<T: Sendable>(_ body: (WebhookClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(deadlineSeconds), read: .seconds(deadlineSeconds)),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: AlertNotifier.concurrency))
        // A refused connection is a failure now (the row backs off), not retried until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        return try await HTTPClient.withHTTPClient(configuration: configuration) { client in try await body(WebhookClient(client: client)) }
    }

    /// POSTs `body`; returns when a 2xx status arrived, throws otherwise.
    func post(_ body: [UInt8], to webhook: String, headers: [String: String]) async throws {
        // Rules made before the API checked as it does now may hold a URL the HTTP client would trap on.
        if let problem = AlertRule.webhookProblem(webhook) { throw Failure(description: "refused webhook URL: \(problem)") }
        var request = HTTPClientRequest(url: webhook)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: UInt
        do {
            let response = try await client.execute(request, deadline: .now() + .seconds(Self.deadlineSeconds))
            status = response.status.code
            // `response` and its unread body are dropped here: AsyncHTTPClient abandons the rest of the body.
        } catch {
            throw Failure(description: Self.brief(error))
        }
        guard (200..<300).contains(status) else { throw Failure(description: "HTTP \(status)") }
    }

    /// An error as one short line.
    static func brief(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            return error == .deadlineExceeded ? "no status within \(deadline)" : "\(error)"
        }
        return "\(error)"
    }
}
