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
        /// A BIRTH was read by this run (else the aliases are what an earlier run stored).
        var born = false
    }

    static let rebirthInterval: Duration = .seconds(10)
    private var nodes: [NodeKey: Node] = [:]
    private var lastRebirth: [NodeKey: ContinuousClock.Instant] = [:]
    private let decoder: MessageDecoder
    private let logger: Logger
    /// Publishes an edge node's rebirth command (QoS 0: a later DATA asks again if it is lost).
    private let requestRebirth: (_ topic: String, _ payload: [UInt8]) -> Void
    private(set) var rebirthsRequested = 0

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

    /// Reads one message into `batch`: readings, status reports, the aliases to store; throws (and leaves
    /// `batch` as it was) when it is dead-lettered. `counting` off (a retry of the same message): no seq
    /// checks and no rebirth requests, which the first pass made.
    func assemble(
        _ payload: [UInt8], topic: SparkplugTopic, device: String, source: Int, receivedAt: Int64, counting: Bool, into batch: inout IngestBatch,
        skipped: inout Int
    ) throws(DecodeError) {
        let key = NodeKey(group: topic.group, edgeNode: topic.edgeNode)
        if topic.kind == .ncmd || topic.kind == .dcmd { return }  // commands to the edge node (ours among them)
        let decoded = try SparkplugPayload.decode(payload)
        switch topic.kind {
        case .nbirth:
            var node = Node(born: true)
            node.lastSeq = decoded.seq
            node.bdSeq = Self.bdSeq(of: decoded)
            node.devices = nodes[key]?.devices ?? []
            nodes[key] = node
            define(decoded, key: key, device: nil, into: &batch)
            batch.statusReports.append(StatusReport(device: device, online: true, at: receivedAt))
        case .ndeath:
            // A death with another bdSeq is an earlier session's will, arriving late: this one lives on.
            if let bdSeq = Self.bdSeq(of: decoded), let current = nodes[key]?.bdSeq, bdSeq != current { return }
            for id in [device] + (nodes[key]?.devices.sorted() ?? []) { batch.statusReports.append(StatusReport(device: id, online: false, at: receivedAt)) }
            nodes[key]?.lastSeq = nil
            return
        default:
            guard nodes[key] != nil else {
                if counting { rebirth(key, because: "\(topic.kind.rawValue) before any BIRTH of the edge node") }
                throw DecodeError(.badSparkplug, "\(topic.kind.rawValue) from edge node \(topic.group)/\(topic.edgeNode), which no BIRTH defined yet (a rebirth is requested)")
            }
            if counting { checkSeq(decoded.seq, key: key, kind: topic.kind) }
            if topic.kind == .dbirth {
                define(decoded, key: key, device: device, into: &batch)
                nodes[key]!.devices.insert(device)
                batch.statusReports.append(StatusReport(device: device, online: true, at: receivedAt))
            } else if topic.kind == .ddeath {
                batch.statusReports.append(StatusReport(device: device, online: false, at: receivedAt))
                return
            }
        }
        let start = batch.readings.count
        do throws(DecodeError) {
            let aliases = nodes[key]!.aliases
            try decoder.decodeSparkplug(decoded, source: source, resolve: { aliases[$0] }, into: &batch.readings, skipped: &skipped)
            if batch.readings.count > start { try decoder.checkRanges(batch.readings, rows: start..<batch.readings.count) }
        } catch {
            batch.readings.truncate(to: start)
            if error.code == .badSparkplug, counting { rebirth(key, because: error.message) }
            throw error
        }
    }

    /// The aliases a BIRTH defines, remembered and stored with the batch.
    private func define(_ payload: SparkplugPayload, key: NodeKey, device: String?, into batch: inout IngestBatch) {
        for metric in payload.metrics {
            guard let alias = metric.alias, let name = metric.name else { continue }
            nodes[key]!.aliases[alias] = (name, metric.datatype)
            batch.sparkplugAliases.append(SparkplugAlias(
                group: key.group, edgeNode: key.edgeNode, alias: alias, name: name, datatype: metric.datatype, device: device))
        }
    }

    /// Every message after the NBIRTH carries the next `seq`, 0...255 round: a gap means one was lost.
    private func checkSeq(_ seq: UInt64?, key: NodeKey, kind: SparkplugTopic.Kind) {
        guard let seq else { return }
        defer { nodes[key]!.lastSeq = seq }
        guard let last = nodes[key]!.lastSeq, seq != (last + 1) % 256 else { return }
        rebirth(key, because: "seq \(seq) after \(last) (\(kind.rawValue)): a message was lost")
    }

    private func rebirth(_ key: NodeKey, because reason: String) {
        let now = ContinuousClock.now
        if let last = lastRebirth[key], now - last < Self.rebirthInterval { return }
        lastRebirth[key] = now
        rebirthsRequested += 1
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
