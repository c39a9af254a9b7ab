import Foundation
import Logging
import SensorModel
import StorageCore
import StorageWriter
import WireFormats

/// What one sensor type's service knows of each Sparkplug B edge node it hears: the aliases its BIRTH
/// messages defined (kept in PostgreSQL with the batch that brought them, and read back at start, so a
/// DATA after a restart is read before the next BIRTH), its last `seq`, its `bdSeq`, its devices.
/// A DATA whose aliases no BIRTH defined is dead-lettered; it, a `seq` gap, or a DATA before any BIRTH
/// asks the edge node for a rebirth (NCMD `Node Control/Rebirth`), at most once per `rebirthInterval`.
/// A DEATH (its `bdSeq` that of the node's BIRTH) reports the node and its devices offline. Used only on
/// the writer thread.
final class SparkplugSessions: @unchecked Sendable {
    struct NodeKey: Hashable {
        var group: String
        var edgeNode: String
    }

    struct Node {
        var aliases: [UInt64: (name: [UInt8], datatype: UInt32?)] = [:]
        var lastSeq: UInt64?
        var bdSeq: UInt64?
        var devices: Set<String> = []
    }

    static let rebirthInterval: Duration = .seconds(10)
    private var nodes: [NodeKey: Node] = [:]
    private var lastRebirth: [NodeKey: ContinuousClock.Instant] = [:]
    private let decoder: MessageDecoder
    private let logger: Logger
    /// Publishes an edge node's rebirth command (QoS 0: a later DATA asks again if it is lost).
    private let requestRebirth: (_ topic: String, _ payload: [UInt8]) -> Void

    init(decoder: MessageDecoder, logger: Logger, requestRebirth: @escaping (String, [UInt8]) -> Void) {
        self.decoder = decoder
        self.logger = logger
        self.requestRebirth = requestRebirth
    }

    /// What earlier runs stored (`SparkplugAliasStore.load`).
    func restore(_ aliases: [SparkplugAlias]) {
        for alias in aliases {
            let key = NodeKey(group: alias.group, edgeNode: alias.edgeNode)
            nodes[key, default: Node()].aliases[alias.alias] = (alias.name, alias.datatype)
            if let device = alias.device { nodes[key, default: Node()].devices.insert(device) }
        }
    }

    /// At most this many aliases per edge node, names of at most this many bytes: a BIRTH past them is
    /// refused, so no edge node makes the alias table (kept in memory, stored, read at start) grow without end.
    static let maxAliases = 16_384
    static let maxNameBytes = 1024

    /// Reads one message into `batch`: readings, status reports, the aliases to store; throws (and leaves
    /// `batch` and the edge node's session as they were) when it is dead-lettered. `counting` off (a retry
    /// of the same message): no seq checks and no rebirth requests, which the first pass made.
    func assemble(
        _ payload: [UInt8], topic: SparkplugTopic, device: String, source: Int, receivedAt: Int64, counting: Bool, into batch: inout IngestBatch,
        skipped: inout Int
    ) throws(DecodeError) {
        let key = NodeKey(group: topic.group, edgeNode: topic.edgeNode)
        if topic.kind == .ncmd || topic.kind == .dcmd { return }  // commands to the edge node (ours among them)
        let decoded = try SparkplugPayload.decode(payload)
        if let seq = decoded.seq, seq > 255 { throw DecodeError(.badSparkplug, "seq \(seq) is outside 0...255") }
        if topic.kind == .ndeath {
            // A death with another bdSeq is an earlier session's will, arriving late: this one lives on.
            if let bdSeq = Self.bdSeq(of: decoded), let current = nodes[key]?.bdSeq, bdSeq != current { return }
            for id in [device] + (nodes[key]?.devices.sorted() ?? []) { batch.statusReports.append(StatusReport(device: id, online: false, at: receivedAt)) }
            nodes[key]?.lastSeq = nil
            return
        }
        var node: Node
        if topic.kind == .nbirth {
            node = Node()
            node.devices = nodes[key]?.devices ?? []  // a DEATH still reports the earlier session's devices
        } else {
            guard let known = nodes[key] else {
                if counting { rebirth(key, because: "\(topic.kind.rawValue) before any BIRTH of the edge node") }
                throw DecodeError(.badSparkplug, "\(topic.kind.rawValue) from edge node \(topic.group)/\(topic.edgeNode), which no BIRTH defined yet (a rebirth is requested)")
            }
            node = known
            if topic.kind != .dbirth, topic.device != nil, !node.devices.contains(device) {
                if counting { rebirth(key, because: "\(topic.kind.rawValue) from device \(device), which no DBIRTH defined") }
                throw DecodeError(.badSparkplug, "\(topic.kind.rawValue) from device \(device), which no DBIRTH of edge node \(topic.group)/\(topic.edgeNode) defined (a rebirth is requested)")
            }
            if counting { node.lastSeq = checkSeq(decoded.seq, after: node.lastSeq, key: key, kind: topic.kind) }
        }
        // A BIRTH's aliases are the session's only once the message is taken.
        var defined: [SparkplugAlias] = []
        if topic.kind == .nbirth || topic.kind == .dbirth {
            for metric in decoded.metrics {
                guard let alias = metric.alias, let name = metric.name else { continue }
                guard name.count <= Self.maxNameBytes else {
                    throw DecodeError(.badSparkplug, "a metric name of \(name.count) bytes (at most \(Self.maxNameBytes))")
                }
                node.aliases[alias] = (name, metric.datatype)
                defined.append(SparkplugAlias(group: key.group, edgeNode: key.edgeNode, alias: alias, name: name, datatype: metric.datatype,
                                              device: topic.kind == .dbirth ? device : nil))
            }
            guard node.aliases.count <= Self.maxAliases else {
                throw DecodeError(.badSparkplug, "edge node \(topic.group)/\(topic.edgeNode) would have \(node.aliases.count) aliases (at most \(Self.maxAliases))")
            }
        }
        if topic.kind == .ddeath {
            nodes[key] = node
            batch.statusReports.append(StatusReport(device: device, online: false, at: receivedAt))
            return
        }
        let start = batch.readings.count
        do throws(DecodeError) {
            let aliases = node.aliases
            try decoder.decodeSparkplug(decoded, source: source, resolve: { aliases[$0] }, into: &batch.readings, skipped: &skipped)
            if batch.readings.count > start { try decoder.checkRanges(batch.readings, rows: start..<batch.readings.count) }
        } catch {
            batch.readings.truncate(to: start)
            if counting, topic.kind != .nbirth { nodes[key]?.lastSeq = node.lastSeq }  // it arrived: its seq counts
            if error.code == .badSparkplug, counting { rebirth(key, because: error.message) }
            throw error
        }
        switch topic.kind {
        case .nbirth:
            node.lastSeq = decoded.seq
            node.bdSeq = Self.bdSeq(of: decoded)
            let id = SparkplugNodeID(group: key.group, edgeNode: key.edgeNode)
            batch.sparkplugAliases.removeAll { $0.group == id.group && $0.edgeNode == id.edgeNode }
            batch.sparkplugBirths.append(id)
            batch.statusReports.append(StatusReport(device: device, online: true, at: receivedAt))
        case .dbirth:
            node.devices.insert(device)
            batch.statusReports.append(StatusReport(device: device, online: true, at: receivedAt))
        default:
            break
        }
        batch.sparkplugAliases += defined
        nodes[key] = node
    }

    /// Every message after the NBIRTH carries the next `seq` (0...255, checked already), round: a gap means
    /// one was lost. Returns the seq to remember.
    private func checkSeq(_ seq: UInt64?, after last: UInt64?, key: NodeKey, kind: SparkplugTopic.Kind) -> UInt64? {
        guard let seq else { return last }
        if let last, seq != (last + 1) % 256 { rebirth(key, because: "seq \(seq) after \(last) (\(kind.rawValue)): a message was lost") }
        return seq
    }

    private func rebirth(_ key: NodeKey, because reason: String) {
        let now = ContinuousClock.now
        if let last = lastRebirth[key], now - last < Self.rebirthInterval { return }
        lastRebirth[key] = now
        logger.notice("requesting a rebirth of Sparkplug edge node \(LogText.escape(key.group))/\(LogText.escape(key.edgeNode)): \(LogText.escape(reason))")
        requestRebirth("\(SparkplugTopic.namespace)/\(key.group)/NCMD/\(key.edgeNode)", SparkplugEncoder.rebirthCommand(at: UInt64(Date().timeIntervalSince1970 * 1000)))
    }

    /// The `bdSeq` metric a BIRTH or DEATH carries.
    static func bdSeq(of payload: SparkplugPayload) -> UInt64? {
        guard let metric = payload.metrics.first(where: { $0.name.map { $0.elementsEqual("bdSeq".utf8) } ?? false }) else { return nil }
        switch metric.value {
        case .long(let value): return value
        case .int(let value): return UInt64(value)
        default: return nil
        }
    }
}
