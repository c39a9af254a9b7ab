import Foundation

// MARK: CPU of the processes under test, from /proc/<pid>/stat

/// The fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, ... [11] utime, [12] stime,
/// [13] cutime, [14] cstime (clock ticks).
private func statFields(_ pid: Int32) -> [Substring]? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")") else { return nil }
    return text[text.index(after: close)...].split(separator: " ")
}

private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

/// User + system CPU seconds of a process (with `children`, also of its reaped children).
public func processCPU(_ pid: Int32, children: Bool = false) -> Double {
    guard let fields = statFields(pid), fields.count > 14 else { return 0 }
    let indexes = children ? [11, 12, 13, 14] : [11, 12]
    return indexes.reduce(0.0) { $0 + (Double(fields[$1]) ?? 0) } / ticksPerSecond
}

/// Every PostgreSQL process of one cluster: the postmaster (with the children it has reaped) and its
/// live children (backends, checkpointer, WAL writer, autovacuum, ...).
public func postgresCPU(postmaster: Int32) -> Double {
    var total = processCPU(postmaster, children: true)
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
        guard let pid = Int32(entry), let fields = statFields(pid), fields.count > 14, Int32(fields[1]) == postmaster else { continue }
        total += processCPU(pid)
    }
    return total
}

/// CPU seconds (user + system) this whole process has used so far.
public func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
