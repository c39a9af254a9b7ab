import SensorModel

/// The key paths a sensor type's `json` payloads carry its fields (and time) at, as a tree of keys:
/// the decoder walks it alongside the JSON, so keys it does not map are skipped without being copied.
struct JSONKeyTree: Sendable {
    enum Leaf: Sendable, Equatable {
        /// `rank`: the path's place in the field's list; a lower rank wins when a message carries several.
        case field(index: Int, rank: Int)
        case time
    }

    /// One key from a node to a child, its bytes in `keyBytes`. Plain values in flat arrays, so a lookup
    /// touches no reference counts.
    struct Edge: Sendable {
        var parent: Int
        var keyStart: Int
        var keyCount: Int
        var child: Int
    }

    static let root = 0
    static let timeKeys = ["ts", "time", "timestamp"]
    private(set) var edges: [Edge] = []
    private(set) var keyBytes: [UInt8] = []
    /// Per node (0 is the root): what it carries, and whether it has children.
    private(set) var leaves: [Leaf?] = [nil]
    private(set) var parents: [Bool] = [false]
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
                edges.append(Edge(parent: node, keyStart: keyBytes.count, keyCount: key.count, child: leaves.count))
                keyBytes += key
                parents[node] = true
                leaves.append(nil)
                parents.append(false)
                node = leaves.count - 1
            }
        }
        if leaves[node] == nil { leaves[node] = leaf }  // the first mapping of a path keeps it
    }

    private func child(of node: Int, key: [UInt8]) -> Int? {
        key.withUnsafeBytes { child(of: node, key: $0) }
    }

    @inline(__always)
    func child(of node: Int, key: UnsafeRawBufferPointer) -> Int? {
        guard parents[node] else { return nil }
        return keyBytes.withUnsafeBufferPointer { bytes in
            for edge in edges where edge.parent == node && edge.keyCount == key.count {
                var index = 0
                while index < key.count, bytes[edge.keyStart + index] == key[index] { index += 1 }
                if index == key.count { return edge.child }
            }
            return nil
        }
    }

    func hasChildren(_ node: Int) -> Bool { parents[node] }
    func leaf(_ node: Int) -> Leaf? { leaves[node] }
}
