import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// POSTs alert events to webhooks on a session of its own. Only the response's status matters: the body is
/// never read (the task is cancelled once the status line and headers are in), so a receiver that answers
/// with an endless body costs nothing, and each call has a hard deadline however slowly the receiver trickles.
/// The task is cancelled by hand: Foundation on Linux ignores the `.cancel` disposition and would go on
/// reading the body until the deadline, queueing a callback per chunk ahead of every other webhook's answer.
final class WebhookClient: NSObject, URLSessionDataDelegate, Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// No answer within this long, from connecting to the status line, is a failure.
    static let deadline: Duration = .seconds(10)

    private let waiting = Mutex<[Int: CheckedContinuation<Int, any Error>]>([:])
    private nonisolated(unsafe) var session: URLSession!

    override init() {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = Double(Self.deadline.components.seconds)
        configuration.timeoutIntervalForResource = Double(Self.deadline.components.seconds)
        configuration.httpMaximumConnectionsPerHost = 8
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    /// POSTs `body`; returns when a 2xx status arrived, throws otherwise.
    func post(_ body: [UInt8], to webhook: String, headers: [String: String]) async throws {
        guard let url = URL(string: webhook), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw Failure(description: "not an http(s) URL")
        }
        var request = URLRequest(url: url, timeoutInterval: Double(Self.deadline.components.seconds))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(body)
        let task = session.dataTask(with: request)
        let status = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiting.withLock { $0[task.taskIdentifier] = continuation }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
        guard (200..<300).contains(status) else { throw Failure(description: "HTTP \(status)") }
    }

    private func finish(_ task: URLSessionTask, _ result: Result<Int, any Error>) {
        waiting.withLock { $0.removeValue(forKey: task.taskIdentifier) }?.resume(with: result)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard let status = (response as? HTTPURLResponse)?.statusCode else {
            finish(dataTask, .failure(Failure(description: "no HTTP response")))
            return completionHandler(.cancel)
        }
        finish(dataTask, .success(status))
        dataTask.cancel()
        completionHandler(.cancel)
    }

    /// Only reached where the disposition was not honoured: the body is not wanted.
    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        dataTask.cancel()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        finish(task, .failure(error.map(Self.brief) ?? Failure(description: "the connection closed before a status")))
    }

    /// An error as one short line: Foundation's URL errors print their whole user info dictionary.
    static func brief(_ error: any Error) -> any Error {
        let error = error as NSError
        guard error.domain == NSURLErrorDomain else { return error }
        return Failure(description: (error.userInfo[NSLocalizedDescriptionKey] as? String) ?? "URL error \(error.code)")
    }
}
