import Foundation
import Hummingbird
import Synchronization
import TestSupport

/// A webhook endpoint for the alert tests: records every POST (headers and JSON body) and answers 500 to
/// the first `failFirst` of them, so the notifier's retries show. A `hanging` one never answers; an
/// `endless` one answers 200 with a body that never ends.
final class WebhookReceiver: Sendable {
    enum Behaviour: Sendable {
        case answers, hanging, endless
    }

    struct Call: Sendable {
        var idempotencyKey: String?
        var event: String?
        var body: [String: any Sendable]
    }

    let port: Int
    private final class Record: Sendable {
        let calls = Mutex<[Call]>([])
        let failures: Mutex<Int>
        init(failures: Int) { self.failures = Mutex(failures) }
    }

    private let record: Record
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/hook" }
    var received: [Call] { record.calls.withLock { $0 } }

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
            case .hanging:
                try await Task.sleep(for: .seconds(600))
                return Response(status: .ok)
            case .endless:
                return Response(status: .ok, body: ResponseBody { writer in
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
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
