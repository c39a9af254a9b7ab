import SensorModel

/// A Sparkplug B topic: `spBv1.0/{group}/{NBIRTH|NDATA|NDEATH|NCMD|DBIRTH|DDATA|DDEATH|DCMD|STATE}/{edge node}[/{device}]`.
public struct SparkplugTopic: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case nbirth = "NBIRTH", ndata = "NDATA", ndeath = "NDEATH", ncmd = "NCMD"
        case dbirth = "DBIRTH", ddata = "DDATA", ddeath = "DDEATH", dcmd = "DCMD"

        /// Node messages have no device level, device messages have one.
        public var isDevice: Bool { self == .dbirth || self == .ddata || self == .ddeath || self == .dcmd }
    }

    public static let namespace = Source.sparkplugNamespace
    public var group: String
    public var kind: Kind
    public var edgeNode: String
    public var device: String?

    public init(group: String, kind: Kind, edgeNode: String, device: String?) {
        (self.group, self.kind, self.edgeNode, self.device) = (group, kind, edgeNode, device)
    }

    /// The topic's parts, or why it is no Sparkplug B topic.
    public static func parse(_ topic: String) -> Result<SparkplugTopic, DecodeError> {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        guard levels.count == 4 || levels.count == 5, levels[0] == namespace else {
            return .failure(DecodeError(.badSparkplug, "a Sparkplug B topic is spBv1.0/<group>/<message type>/<edge node>[/<device>]"))
        }
        guard let kind = Kind(rawValue: String(levels[2])) else {
            return .failure(DecodeError(.badSparkplug, "'\(levels[2].prefix(16))' is no Sparkplug B message type (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))"))
        }
        guard kind.isDevice == (levels.count == 5) else {
            return .failure(DecodeError(.badSparkplug, "\(kind.rawValue) topics \(kind.isDevice ? "end with a device level" : "have no device level")"))
        }
        return .success(SparkplugTopic(group: String(levels[1]), kind: kind, edgeNode: String(levels[3]), device: levels.count == 5 ? String(levels[4]) : nil))
    }

    /// The device id readings are stored under: the edge node's id for its own metrics, `<edge node>.<device>`
    /// for a device's; nil when that is no device id (1-64 of A-Z a-z 0-9 . _ -), or the edge node's id is
    /// empty or holds a `.` (else edge node `a` with device `b` and edge node `a.b` would be one device).
    public var storedDevice: String? {
        guard !edgeNode.isEmpty, !edgeNode.contains("."), device?.isEmpty != true else { return nil }
        let id = device.map { "\(edgeNode).\($0)" } ?? edgeNode
        return Topic.isValidDevice(id) ? id : nil
    }
}
