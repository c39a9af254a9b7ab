import SensorModel

/// The key paths a sensor type's `json` payloads carry its fields (and time) at, as a tree of keys:
/// the decoder walks it alongside the JSON, so keys it does not map are skipped without being copied.
struct JSONKeyTree: Sendable {
    enum Leaf: Sendable, Equatable {
        /// `rank`: the path's place in the field's list; a lower rank wins when a message carries several.
        case field(index: Int, rank: Int)
        case time
    }

    struct Node: Sendable {
        var keys: [[UInt8]] = []
        var children: [Int] = []
        var leaf: Leaf?
    }

    static let root = 0
    static let timeKeys = ["ts", "time", "timestamp"]
    private(set) var nodes = [Node()]
    /// Fields whose JSON strings may hold numbers (`"21.5"`).
    let acceptsStrings: [Bool]
    /// Whether a top-level `values` object (ThingsBoard's `{"ts": ..., "values": {...}}`) is read as the reading.
    private(set) var readsValues = false

    /// Each field by its name and aliases, or by the source's paths where it lists the field.
    init(sensor: SensorType, source: Source? = nil) {
        acceptsStrings = sensor.fields.map(\.strings)
        for (index, field) in sensor.fields.enumerated() {
            let texts = source?.fields[field.name] ?? ([field.name] + field.aliases)
            for (rank, text) in texts.enumerated() {
                guard let path = KeyPath.parse(text) else { continue }  // the catalog check reports it
                insert(path, .field(index: index, rank: rank))
            }
        }
        if let time = source?.time, let path = KeyPath.parse(time) {
            insert(path, .time)
        } else {
            for key in Self.timeKeys { insert([key], .time) }
        }
        readsValues = child(of: Self.root, key: Array("values".utf8)) == nil
    }

    private mutating func insert(_ path: [String], _ leaf: Leaf) {
        var node = Self.root
        for segment in path {
            let key = Array(segment.utf8)
            if let next = child(of: node, key: key) {
                node = next
            } else {
                nodes.append(Node())
                nodes[node].keys.append(key)
                nodes[node].children.append(nodes.count - 1)
                node = nodes.count - 1
            }
        }
        if nodes[node].leaf == nil { nodes[node].leaf = leaf }  // the first mapping of a path keeps it
    }

    private func child(of node: Int, key: [UInt8]) -> Int? {
        key.withUnsafeBytes { child(of: node, key: $0) }
    }

    @inline(__always)
    func child(of node: Int, key: UnsafeRawBufferPointer) -> Int? {
        let entry = nodes[node]
        for (position, candidate) in entry.keys.enumerated() where candidate.count == key.count {
            if candidate.withUnsafeBytes({ $0.elementsEqual(key) }) { return entry.children[position] }
        }
        return nil
    }

    func hasChildren(_ node: Int) -> Bool { !nodes[node].children.isEmpty }
    func leaf(_ node: Int) -> Leaf? { nodes[node].leaf }
}
