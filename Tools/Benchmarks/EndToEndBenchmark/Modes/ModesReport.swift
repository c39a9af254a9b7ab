import Foundation

/// The modes benchmark's tables (Markdown) on stdout.
struct ModesReport {
    var results: [ModeResult]
    var common: Double
    var flooded: String
    var outage: Double
    var seconds: Double
    var samples: Int
    var devices: Int
    var scaling: [ScalingResult]
    var loss: [SharedSubscriptionLoss.Result]

    private func thousands(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value.rounded())) ?? String(format: "%.0f", value)
    }

    private func ms(_ latency: Latency?) -> String { latency.map { String(format: "%.0f / %.0f ms", $0.p50, $0.p99) } ?? "–" }

    private func row(_ label: String, _ cell: (ModeResult) -> String) {
        Swift.print("| \(label) | " + results.map(cell).joined(separator: " | ") + " |")
    }

    func print() {
        let machine = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        Swift.print("Deploy modes benchmark, \(ISO8601DateFormatter().string(from: Date())), \(ProcessInfo.processInfo.activeProcessorCount) cores (\(machine)); "
                    + "every sensor type at an equal message rate, \(samples)-sample tm frames, QoS 1, \(thousands(Double(devices))) devices, \(Int(seconds)) s runs; "
                    + "broker and PostgreSQL the same for both modes.")
        Swift.print("Faults, flood and redeploy at \(thousands(common)) readings/s for both modes (half the lower of the two modes' sustained rates, or of their rates stored in full where none was sustained); "
                    + "\"others\" = the sensor types other than \(flooded).")
        Swift.print("")
        Swift.print("| | " + results.map { "\($0.mode.rawValue) (\($0.processes) process\($0.processes == 1 ? "" : "es"))" }.joined(separator: " | ") + " |")
        Swift.print("|---|" + results.map { _ in "---|" }.joined())
        row("1. highest readings/s stored in full at the requested pace (its p99)") { result in
            result.keptUp.map { "\(thousands($0.load.requestedReadings)) (\(String(format: "%.0f ms", $0.latency.p99)))" } ?? "none"
        }
        row("   … with p99 < 1 s and not growing (sustained)") { result in
            result.sustained.map { "\(thousands($0.load.requestedReadings)) (\(String(format: "%.0f ms", $0.latency.p99)))" } ?? "none of the rates tried"
        }
        row("   backlog drain readings/s") { thousands($0.backlogRate) }
        row("   CPU s per million readings at that rate: platform (+ broker + PostgreSQL)") {
            $0.highest.map { String(format: "%.2f (%.2f)", $0.cpuPerMillion.platform, $0.cpuPerMillion.total) } ?? "–"
        }
        row("   RSS, the processes' peaks summed") { String(format: "%.0f MB", $0.peakRSSMB) }
        row("2. publish→commit p50 / p99 at half its rate") { result in
            result.half.map { "\(ms($0.latency)) at \(thousands($0.load.requestedReadings))" } ?? "–"
        }
        row("3. kill -9 \(result0Target): others' stored rate while down (of before)") { result in
            result.kill.map { String(format: "%@ of %@ readings/s (%.0f%%) for %.1f s", thousands($0.othersDuring), thousands($0.othersBefore), 100 * $0.othersShare, $0.downSeconds) } ?? "–"
        }
        row("   backlog drained after the restart; readings lost") { result in
            result.kill.map { String(format: "%.1f s; %d", $0.backlogDrainSeconds, $0.lost) } ?? "–"
        }
        row("4. \(flooded) at 10× its share: others' p50 / p99 (without the flood)") { result in
            "\(ms(result.flood?.othersLatency)) (\(ms(result.baseline?.othersLatency)))"
        }
        row("5. redeploy of \(result0Target) under load: others' rate meanwhile (of before)") { result in
            result.redeploy.map { String(format: "%@ of %@ readings/s (%.0f%%) for %.1f s", thousands($0.othersDuring), thousands($0.othersBefore), 100 * $0.othersShare, $0.downSeconds) } ?? "–"
        }
        row("   others' p50 / p99 over the run (without); readings lost") { result in
            result.redeploy.map { "\(ms($0.run.othersLatency)) (\(ms(result.baseline?.othersLatency))); \($0.lost)" } ?? "–"
        }
        let replicaCells = scaling.map { result in
            "\(result.replicas): \(result.keptUp.map { thousands($0.load.requestedReadings) } ?? "none") (sustained \(result.sustained.map { thousands($0.load.requestedReadings) } ?? "none"))"
        }.joined(separator: "; ")
        row("6. \(flooded) alone, readings/s stored in full by replicas ($share)") { $0.mode == .microservices ? replicaCells : "one process: scales as a whole" }
        if let targets = results.first?.targets, !targets.isEmpty {
            Swift.print("")
            Swift.print("At fixed rates: publish→commit p50 / p99; CPU s per million readings, platform + broker + PostgreSQL = all; commits/s:")
            Swift.print("")
            Swift.print("| readings/s | " + results.map(\.mode.rawValue).joined(separator: " | ") + " |")
            Swift.print("|---:|" + results.map { _ in "---|" }.joined())
            for index in targets.indices {
                Swift.print("| \(thousands(targets[index].load.requestedReadings)) | " + results.map { result in
                    guard result.targets.indices.contains(index) else { return "–" }
                    let run = result.targets[index]
                    return String(format: "%@; %@ s; %.0f commits/s%@", ms(run.latency), run.cpuBreakdown, run.commitsPerSecond, run.passed ? "" : " (\(run.verdict))")
                }.joined(separator: " | ") + " |")
            }
        }
        if !loss.isEmpty {
            Swift.print("")
            Swift.print("Broker restart under load (SIGTERM + start, persistence on), \(loss[0].messagesPerSecond) msg/s of \(flooded), 1-sample frames:")
            Swift.print("")
            Swift.print("| replicas | subscription | services | acknowledged | stored | missing | = seconds of load | broker down | all subscribed again after |")
            Swift.print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
            for result in loss {
                Swift.print(String(format: "| %d | %@ | %@ | %d | %d | %d | %.2f s | %.2f s | %.2f s |", result.replicas, result.replicas > 1 ? "$share" : "plain",
                                   result.servicesDown > 0 ? "stopped, back \(Int(result.servicesDown)) s after" : "running", result.acknowledged,
                                   result.stored, result.missing, result.windowSeconds, result.brokerDownSeconds, result.resubscribeSeconds))
            }
        }
        Swift.print("")
        Swift.print("Every run (requested vs achieved rate and the load generator's own CPU):")
        Swift.print("")
        Swift.print("| mode | run | requested readings/s | achieved | load generator | stored / acknowledged | p50 / p99 | commits/s (readings each) | CPU s per M: platform (all) | PostgreSQL backends busy | verdict |")
        Swift.print("|---|---|---:|---:|---:|---|---|---|---|---|---|")
        for result in results {
            var runs = result.runs.map { ("search", $0) }
            runs += result.targets.map { ("fixed rate", $0) }
            runs += [("half rate", result.half), ("at the common rate", result.baseline), ("kill -9", result.kill?.run),
                     ("flood", result.flood), ("redeploy", result.redeploy?.run)].compactMap { label, run in run.map { (label, $0) } }
            for (label, run) in runs { runLine(result.mode.rawValue, label, run) }
        }
        for result in scaling {
            if let run = result.keptUp ?? result.sustained { runLine("\(result.replicas) × \(flooded)", "highest kept up", run) }
        }
    }

    private var result0Target: String { "the \(flooded) service / the monolith" }

    private func runLine(_ mode: String, _ label: String, _ run: ModeRun) {
        Swift.print(String(format: "| %@ | %@ | %@ | %@ | %.2f core | %d / %d | %@ | %.0f (%.0f) | %.2f (%.2f) | %@ | %@ |", mode, label, thousands(run.load.requestedReadings),
                           thousands(run.load.achievedReadings), run.load.cores, run.stored, run.load.acknowledged, ms(run.latency),
                           run.commitsPerSecond, run.commits > 0 ? Double(run.stored) / Double(run.commits) : 0,
                           run.cpuPerMillion.platform, run.cpuPerMillion.total, run.waits, run.verdict))
    }
}
