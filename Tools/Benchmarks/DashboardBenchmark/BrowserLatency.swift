import Foundation

/// Publish → browser latency in headless Chromium: Tests/Browser/live_latency.py opens a device's live
/// view and notes when each reading's row enters the page (and the frame that paints it); this side
/// publishes the readings at a steady rate, each stamped with its publish time (the same machine's clock).
struct BrowserLatency {
    let requestedRate: Int
    let achievedRate: Double
    let published: Int
    /// Milliseconds from publish to the row in the DOM, and to the start of the frame that paints it, per
    /// reading received.
    let inDOM: [Double], framed: [Double]

    static func measure(
        python: String, script: String, url: String, token: String, sensor: String, device: String, rate: Int, count: Int,
        publish: (_ seq: UInt32, _ time: Int64) throws -> Void
    ) throws -> BrowserLatency {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, sensor, device]
        process.environment = ProcessInfo.processInfo.environment.merging(["DASHBOARD_URL": url, "DASHBOARD_TOKEN": token]) { $1 }
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        // The script, chromedriver and Chromium share a process group (the script's pid): swept when
        // the measure ends and, should the benchmark exit on a failure first, at exit.
        browserGroup = process.processIdentifier
        atexit { if browserGroup > 0 { kill(-browserGroup, SIGKILL) } }
        // A SIGTERM or SIGINT (the script's cleanup, Ctrl-C) exits through atexit, too.
        endSignals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { exit(128 + number) }
            source.resume()
            return source
        }
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            kill(-browserGroup, SIGKILL)
            browserGroup = 0
        }
        let lines = LineReader(output.fileHandleForReading)
        guard lines.next() == "ready" else { throw Failure("the browser did not open the live view (its lines are above)") }

        var times = Set<Int64>(), last: Int64 = 0
        var first: ContinuousClock.Instant?, lastAt = ContinuousClock.now
        let start = ContinuousClock.now
        for index in 0..<count {
            let due = start + .microseconds(Int64(index) * 1_000_000 / Int64(max(rate, 1)))
            let wait = due - ContinuousClock.now
            if wait > .zero { Thread.sleep(forTimeInterval: wait / .seconds(1)) }
            let time = max(Int64(Date().timeIntervalSince1970 * 1_000_000), last + 1)  // a reading's key is its time
            try publish(UInt32(100_000 + index), time)
            lastAt = ContinuousClock.now
            first = first ?? lastAt
            times.insert(time)
            last = time
        }
        input.fileHandleForWriting.write(Data("collect \(count)\n".utf8))
        guard let answer = lines.next(), let object = try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
              let rows = object["rows"] as? [[Any]] else {
            throw Failure("the browser gave no measurements (its lines are above)")
        }
        // [reading time µs, DOM ms, frame ms or null (no frame yet)] of the readings published here.
        let mine = rows.filter { row in row.count == 3 && (row[0] as? Double).map { times.contains(Int64($0)) } == true }
        let seconds = first.map { (lastAt - $0) / .seconds(1) } ?? 0
        return BrowserLatency(
            requestedRate: rate, achievedRate: seconds > 0 ? Double(count - 1) / seconds : .nan, published: count,
            inDOM: mine.compactMap { $0[1] as? Double }, framed: mine.compactMap { $0[2] as? Double })
    }

    func tableRows(load: Int) -> String {
        func row(_ what: String, _ values: [Double]) -> String {
            "| publish → \(what), \(requestedRate) msg/s to the watched device, \(load) msg/s of load | "
                + "\(String(format: "%.1f", percentile(values, 0.5))) ms | \(String(format: "%.1f", percentile(values, 0.99))) ms | "
                + "\(values.count) of \(published) (max \(String(format: "%.1f", values.max() ?? .nan)) ms) |"
        }
        return row("row in Chromium's live table (DOM)", inDOM) + "\n" + row("the frame that paints it starts (Chromium)", framed)
    }
}

nonisolated(unsafe) var browserGroup: pid_t = 0
nonisolated(unsafe) var endSignals: [any DispatchSourceSignal] = []

/// Lines from a pipe; nil at its end.
final class LineReader {
    private let handle: FileHandle
    private var pending = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> String? {
        while true {
            if let end = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<end], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...end)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            pending.append(chunk)
        }
    }
}
