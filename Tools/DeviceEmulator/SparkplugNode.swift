import SensorModel
import WireFormats

/// A Sparkplug B edge node the emulator plays (`--profile sparkplug`), with one device of its own: it
/// publishes NBIRTH (seq 0, bdSeq 0), then DBIRTH (each metric's name, alias, datatype and first value),
/// then DDATA with aliases only, `seq` counting on 0...255; its NDEATH is its connection's will and its
/// goodbye. Readings are stored under `<edge node>.<device>`.
struct SparkplugNode: Sendable {
    static let deviceName = "sensor"
    let group: String
    let edgeNode: String
    /// Per feed, per field: the metric name the catalog maps (its first), and its alias.
    private let metrics: [[(name: String, alias: UInt64)]]
    private var sent = 0
    private var seq: UInt64 = 0

    var storedID: String { "\(edgeNode).\(Self.deviceName)" }

    init(edgeNode: String, feeds: [SensorType], sources: [Source]) {
        self.edgeNode = edgeNode
        group = sources[0].sparkplugGroup ?? "group"
        metrics = zip(feeds, sources).enumerated().map { feed, pair in
            pair.0.fields.enumerated().map { index, field in (pair.1.fields[field.name]?.first ?? field.name, UInt64(feed * 100 + index + 1)) }
        }
    }

    var dataTopic: String { "\(SparkplugTopic.namespace)/\(group)/DDATA/\(edgeNode)/\(Self.deviceName)" }
    var deathTopic: String { "\(SparkplugTopic.namespace)/\(group)/NDEATH/\(edgeNode)" }
    var deathPayload: [UInt8] { SparkplugEncoder.encode(SparkplugPayload(metrics: [SparkplugMetric(name: "bdSeq", datatype: .int64, value: .long(0))])) }

    /// The next message, its topic and the readings it carries: `values[feed][field]` at `time` (µs, whole ms).
    mutating func next(values: [[Double]], time: Int64) -> (topic: String, payload: [UInt8], readings: Int) {
        defer { sent += 1 }
        let milliseconds = UInt64(time / 1000)
        var payload = SparkplugPayload(timestamp: milliseconds, seq: seq)
        seq = (seq + 1) % 256
        if sent == 0 {
            payload.metrics = [
                SparkplugMetric(name: "bdSeq", timestamp: milliseconds, datatype: .int64, value: .long(0)),
                SparkplugMetric(name: "Node Control/Rebirth", timestamp: milliseconds, datatype: .boolean, value: .bool(false)),
            ]
            return ("\(SparkplugTopic.namespace)/\(group)/NBIRTH/\(edgeNode)", SparkplugEncoder.encode(payload), 0)
        }
        let birth = sent == 1
        for (feed, fields) in metrics.enumerated() {
            for (index, metric) in fields.enumerated() {
                payload.metrics.append(SparkplugMetric(
                    name: birth ? metric.name : nil, alias: metric.alias, timestamp: milliseconds, datatype: birth ? .double : nil,
                    value: .double(values[feed][index])))
            }
        }
        let kind = birth ? "DBIRTH" : "DDATA"
        return ("\(SparkplugTopic.namespace)/\(group)/\(kind)/\(edgeNode)/\(Self.deviceName)", SparkplugEncoder.encode(payload), 1)
    }
}
