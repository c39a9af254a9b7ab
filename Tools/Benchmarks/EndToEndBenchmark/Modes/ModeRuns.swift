import Foundation
import MQTT
import Postgres
import SensorModel
import TestSupport

/// One paced run of the mixed load through a deployed platform, everything measured.
struct ModeRun {
    var load: MixedReport
    var stored: Int
    var drainSeconds: Double
    var latency: Latency
    /// Latency of the sensor types other than the flooded or broken one (all of them when none is).
    var othersLatency: Latency
    /// CPU seconds over the run: the platform's processes, the broker, PostgreSQL.
    var platformCPU: Double
    var brokerCPU: Double
    var postgresCPU: Double
    /// Write transactions that stored the run's readings, and what PostgreSQL's backends waited on.
    var commits: Int
    var waits: String
    /// Every acknowledged reading stored and the generator at the requested pace (latency aside).
    var keptUp: Bool
    /// Kept up, and latency bounded.
    var passed: Bool
    var verdict: String

    var cpuPerMillion: (platform: Double, total: Double) {
        let scale = stored > 0 ? 1e6 / Double(stored) : 0
        return (platformCPU * scale, (platformCPU + brokerCPU + postgresCPU) * scale)
    }

    /// "platform + broker + PostgreSQL = total", CPU s per million readings.
    var cpuBreakdown: String {
        let scale = stored > 0 ? 1e6 / Double(stored) : 0
        return String(format: "%.2f + %.2f + %.2f = %.2f", platformCPU * scale, brokerCPU * scale, postgresCPU * scale, cpuPerMillion.total)
    }

    var commitsPerSecond: Double { load.publishSeconds > 0 ? Double(commits) / load.publishSeconds : 0 }

    var line: String {
        String(format: "requested %.0f readings/s: %@; stored %d, drained %.1f s after the last ack; %@; CPU s per million readings: platform + broker + PostgreSQL %@; %.0f commits/s (%.0f readings each); backends: %@; %@",
               load.requestedReadings, load.summary, stored, drainSeconds, latency.summary, cpuBreakdown,
               commitsPerSecond, commits > 0 ? Double(stored) / Double(commits) : 0, waits, verdict)
    }
}

/// What a broken or redeployed part did to the rest: measured over one run.
struct DisruptionRun {
    var run: ModeRun
    /// The other sensor types' committed readings/s before the event and while the part was down (from the
    /// kill until its restart began; from SIGTERM until the redeployed part was ready).
    var othersBefore: Double
    var othersDuring: Double
    var downSeconds: Double
    /// From the restart until everything published before it was stored.
    var backlogDrainSeconds: Double
    var lost: Int

    var othersShare: Double { othersBefore > 0 ? othersDuring / othersBefore : 0 }
}

/// Runs the mixed load through one deployed platform and measures it.
struct ModeRunner {
    let platform: DeployedPlatform
    let load: MixedLoad
    let stored: StoredReadings
    let mosquittoPID: Int32?
    let postmasterPID: Int32?
    let log: (String) -> Void

    private var sensors: [String] { load.sensors.map(\.name) }

    private func cpu() -> (Double, Double, Double) {
        (platform.cpuSeconds, mosquittoPID.map { processCPU($0) } ?? 0, postmasterPID.map { postgresCPU(postmaster: $0) } ?? 0)
    }

    /// A paced run; passes when every acknowledged reading is stored, the generator achieved the rate and
    /// latency stayed bounded. `during` runs on this thread while the load goes on (to break a part).
    func run(readingsPerSecond: Double, seconds: Double, flooded: String? = nil, flood: Double = 1, others: [String]? = nil,
             timeout: Double = 300, during: (() throws -> Void)? = nil) throws -> ModeRun {
        try stored.reset()
        let before = cpu()
        let sampler = WaitSampler(url: stored.connection.url)
        let specs = load.specs(readingsPerSecond: readingsPerSecond, seconds: seconds, flooded: flooded, flood: flood, prefix: "modes")
        let background = BackgroundLoad(specs, sensors: sensors)
        try during?()
        let report = try background.wait()
        let drain = try stored.waitUntilStored(report, timeout: timeout)
        let after = cpu()
        let waits = sampler.finish()
        let count = try stored.count()
        let commits = try stored.commits()
        let middle = report.startMicros + Int64(report.publishSeconds * 500_000)
        let latency = try stored.latency(middleMicros: middle)
        let othersLatency = try others.map { try stored.latency($0, middleMicros: middle) } ?? latency
        var problems: [String] = []
        if let failure = report.failure { problems.append(failure) }
        if report.acknowledged < report.published { problems.append("\(report.published - report.acknowledged) readings unacknowledged") }
        if count != report.acknowledged { problems.append("\(report.acknowledged - count) readings missing") }
        if report.achievedReadings < 0.99 * report.requestedReadings {
            problems.append(String(format: "load generator reached only %.1f%% of the rate", 100 * report.achievedReadings / report.requestedReadings))
        }
        let keptUp = problems.isEmpty
        if !latency.isBounded { problems.append("latency not bounded") }
        let run = ModeRun(
            load: report, stored: count, drainSeconds: drain ?? -1, latency: latency, othersLatency: othersLatency,
            platformCPU: after.0 - before.0, brokerCPU: after.1 - before.1, postgresCPU: after.2 - before.2, commits: commits, waits: waits,
            keptUp: keptUp, passed: problems.isEmpty, verdict: problems.isEmpty ? "PASS" : "FAIL: " + problems.joined(separator: ", "))
        log("\(platform.label): \(run.line)")
        return run
    }

    /// How fast the platform empties a backlog the broker queued while every part was stopped.
    func drainBacklog(messagesPerType: Int) throws -> Double {
        try stored.reset()
        for part in platform.parts { part.process.stop() }
        let specs = load.specs(readingsPerSecond: nil, seconds: 0, messagesPerType: messagesPerType, prefix: "backlog")
        let report = MixedReport(sensors: sensors, reports: try generateLoad(specs))
        if let failure = report.failure { throw BenchError("backlog: \(failure)") }
        for part in platform.parts { try platform.restart(part) }
        guard try stored.waitUntilStored(report, timeout: 900) != nil else {
            throw BenchError("backlog: \(try stored.count()) of \(report.acknowledged) readings stored")
        }
        let rate = try stored.drainRate()
        log(String(format: "%@: backlog of %d readings drained at %.0f readings/s", platform.label, report.acknowledged, rate))
        return rate
    }

    /// The highest rate at which a whole run passes: from `start`, up by 10% while runs pass, else down by
    /// 10% (20% after a run whose p99 passed 2 s; to 95% of what the generator achieved when the broker held
    /// it back) until one passes; then once halfway between the highest pass and the lowest failure.
    func sustained(from start: Double, seconds: Double, maxSteps: Int, step: Double = 1000) throws -> (best: ModeRun?, runs: [ModeRun]) {
        var rate = roundedDown(start, to: step)
        var runs: [ModeRun] = []
        var best: ModeRun?
        var lowestFailure: Double?
        for _ in 0..<maxSteps {
            let run = try run(readingsPerSecond: rate, seconds: seconds)
            runs.append(run)
            if run.passed {
                best = run
                if lowestFailure != nil { break }
                rate = roundedDown(rate * 1.1, to: step)
            } else {
                lowestFailure = rate
                if best != nil { break }
                // A generator held back by the broker's pushback reached what the platform took: start below that.
                let pushedBack = run.load.achievedReadings < 0.99 * rate ? 0.95 * run.load.achievedReadings : rate
                rate = roundedDown(min(pushedBack, rate * (run.latency.p99 > 2000 ? 0.8 : 0.9)), to: step)
            }
        }
        if let passed = best, let failed = lowestFailure, failed > passed.load.requestedReadings {
            let next = roundedDown((passed.load.requestedReadings + failed) / 2, to: step)
            if next > passed.load.requestedReadings {
                let run = try run(readingsPerSecond: next, seconds: seconds)
                runs.append(run)
                if run.passed { best = run }
            }
        }
        return (best, runs)
    }

    /// Breaks the part that ingests `sensor` under load: `kill -9` and a restart `outage` seconds later, or
    /// (`redeploy`) a graceful stop and a start from `binary`. Measures the other sensor types meanwhile.
    func disrupt(_ sensor: String, readingsPerSecond: Double, seconds: Double, outage: Double, redeploy binary: String? = nil) throws -> DisruptionRun {
        let part = platform.part(ingesting: sensor)
        let others = sensors.filter { $0 != sensor }
        // event: the kill or SIGTERM; gapEnd: the restart begins (after a kill; a restarting part replays its
        // journal, so it stores before it is ready) or the redeployed part is ready; back: ready again.
        var event: Int64 = 0, gapEnd: Int64 = 0, back: Int64 = 0
        let run = try run(readingsPerSecond: readingsPerSecond, seconds: seconds, others: others) {
            Thread.sleep(forTimeInterval: seconds / 3)
            event = wallMicros()
            if let binary {
                try platform.redeploy(part, binary: binary)
                gapEnd = wallMicros()
            } else {
                platform.kill(part)
                Thread.sleep(forTimeInterval: outage)
                gapEnd = wallMicros()
                try platform.restart(part)
            }
            back = wallMicros()
        }
        let window = min(Int64(seconds / 3 * 1e6) - 2_000_000, 10_000_000)
        let before = try stored.committedRate(others, from: event - window, to: event)
        let during = try stored.committedRate(others, from: event, to: gapEnd)
        let affected = part.spec.sensors
        let drained = try stored.lastCommit(ofReadingsBefore: back, affected).map { max(0, Double($0 - back) / 1e6) } ?? 0
        let result = DisruptionRun(
            run: run, othersBefore: before, othersDuring: during, downSeconds: Double(back - event) / 1e6,
            backlogDrainSeconds: drained, lost: run.load.acknowledged - run.stored)
        log(String(format: "%@: %@ %@: others %.0f readings/s before, %.0f while down (%.2f s; %.0f%%), backlog drained %.1f s after the restart, %d lost",
                   platform.label, binary == nil ? "kill -9" : "redeploy", part.name, before, during, result.downSeconds, 100 * result.othersShare,
                   drained, result.lost))
        return result
    }
}
