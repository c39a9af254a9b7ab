import Foundation
import Hummingbird
import Synchronization
import TestSupport

/// A webhook endpoint for the alert tests: records every POST (headers and JSON body) and answers 500 to
/// the first `failFirst` of them, so the notifier's retries show. An `endless` one answers 200 with a body
/// that never ends, and notes when each such body stopped because the client closed the connection.
final class WebhookReceiver: Sendable {
    enum Behaviour: Sendable {
        case answers, endless
    }

    struct Call: Sendable {
        var at = ContinuousClock.now
        var idempotencyKey: String?
        var event: String?
        var body: [String: any Sendable]
    }

    let port: Int
    private final class Record: Sendable {
        let calls = Mutex<[Call]>([])
        let bodiesEnded = Mutex<[ContinuousClock.Instant]>([])
        let failures: Mutex<Int>
        init(failures: Int) { self.failures = Mutex(failures) }
    }

    private let record: Record
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var received: [Call] { record.calls.withLock { $0 } }
    /// When each endless body stopped being written (the client hung up).
    var bodiesEnded: [ContinuousClock.Instant] { record.bodiesEnded.withLock { $0 } }

    init(failFirst: Int = 0, behaviour: Behaviour = .answers) throws {
        port = try freeLoopbackPort()
        let record = Record(failures: failFirst)
        self.record = record
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] ?? [:]
            let call = Call(
                idempotencyKey: request.headers.first { $0.name.canonicalName == "idempotency-key" }?.value,
                event: request.headers.first { $0.name.canonicalName == "x-alert-event" }?.value,
                body: object.mapValues { "\($0)" })
            record.calls.withLock { $0.append(call) }
            switch behaviour {
            case .endless:
                return Response(status: .ok, body: ResponseBody { writer in
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
                    defer { record.bodiesEnded.withLock { $0.append(.now) } }
                    while !Task.isCancelled { try await writer.write(chunk) }
                })
            case .answers:
                return Response(status: record.failures.withLock { left in
                    guard left > 0 else { return .ok }
                    left -= 1
                    return .internalServerError
                })
            }
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
    }

    func stop() { task.cancel() }
}

/// A webhook that never answers: it accepts each connection, reads what comes and says nothing, and notes
/// when each connection opened and when the client gave up and closed it.
final class HungWebhook: Sendable {
    let port: Int
    private let listener: Int32
    let connections = Mutex<[(opened: ContinuousClock.Instant, closed: ContinuousClock.Instant?)]>([])

    var url: String { "http://127.0.0.1:\(port)/hook" }

    init() throws {
        (listener, port) = try LoopbackSockets.listen(for: "the hung webhook")
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(self.listener, nil, nil)
                guard connection >= 0 else { return }
                let index = connections.withLock { list in
                    list.append((ContinuousClock.now, nil))
                    return list.count - 1
                }
                Thread.detachNewThread { [self] in
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while buffer.withUnsafeMutableBytes({ recv(connection, $0.baseAddress, $0.count, 0) }) > 0 {}
                    connections.withLock { $0[index].closed = ContinuousClock.now }
                    close(connection)
                }
            }
        }
    }

    /// Whether some connection was open at `instant`.
    func wasOpen(at instant: ContinuousClock.Instant) -> Bool {
        connections.withLock { $0.contains { $0.opened <= instant && ($0.closed.map { instant < $0 } ?? true) } }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
