import Foundation
import TestSupport

/// One GET of `path` on each client at once: every client on its own thread, all released together.
/// Returns each request's time (ms, from its own send to the last byte of its response) and the round's
/// wall time (ms, from the release until the last response).
func concurrentRound(_ clients: [LoopbackHTTPConnection], path: String) throws -> ([Double], Double) {
    let gate = NSCondition()
    nonisolated(unsafe) var open = false
    let results = NSLock()
    nonisolated(unsafe) var times: [Double] = []
    nonisolated(unsafe) var failure: (any Error)?
    let group = DispatchGroup()
    for client in clients {
        group.enter()
        Thread {
            gate.lock()
            while !open { gate.wait() }
            gate.unlock()
            let start = DispatchTime.now().uptimeNanoseconds
            do {
                let (status, body) = try client.get(path)
                if status != 200 { throw BenchmarkError("GET \(path): \(status) \(String(decoding: body.prefix(300), as: UTF8.self))") }
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                results.withLock { times.append(elapsed) }
            } catch {
                results.withLock { failure = error }
            }
            group.leave()
        }.start()
    }
    Thread.sleep(forTimeInterval: 0.05)  // every thread waiting at the gate
    let start = DispatchTime.now().uptimeNanoseconds
    gate.lock()
    open = true
    gate.broadcast()
    gate.unlock()
    group.wait()
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    if let failure { throw failure }
    return (times, wall)
}
