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

    /// What a node carries and where its children's edges sit in `edges` (grouped by parent once the
    /// tree is built, so a lookup scans only the node's own keys).
    struct Node: Sendable {
        var leaf: Leaf?
        var edges: Range<Int> = 0..<0
        /// Bit n set when a child's key is n bytes long (bit 63: 63 or more): most keys a message carries
        /// and the tree does not map are turned away by their length alone.
        var keyLengths: UInt64 = 0
    }

    static let root = 0
    static let timeKeys = ["ts", "time", "timestamp"]
    private(set) var edges: [Edge] = []
    private(set) var keyBytes: [UInt8] = []
    /// Per node; 0 is the root.
    private(set) var nodes = [Node()]
    /// Fields whose JSON strings may hold numbers (`"21.5"`).
    let acceptsStrings: [Bool]
    /// Whether a top-level `values` object (ThingsBoard's `{"ts": ..., "values": {...}}`) is read as the reading.
    private(set) var readsValues = false

    /// Each field by its name and aliases, or by the source's paths where it lists the field.
    init(sensor: SensorType, source: Source? = nil) {
        acceptsStrings = sensor.fields.map(\.strings)
        // A field a network server's uplink fills is not looked for in the payload (by its name or aliases).
        for (index, field) in sensor.fields.enumerated() where source?.uplink[field.name] == nil {
            let texts = source?.keyPaths(for: field) ?? field.keyPaths
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
        edges.sort { ($0.parent, $0.child) < ($1.parent, $1.child) }
        for (index, edge) in edges.enumerated() {
            if nodes[edge.parent].edges.isEmpty { nodes[edge.parent].edges = index..<index }
            nodes[edge.parent].edges = nodes[edge.parent].edges.lowerBound..<(index + 1)
            nodes[edge.parent].keyLengths |= Self.lengthBit(edge.keyCount)
        }
        readsValues = child(of: Self.root, key: Self.values) == nil
    }

    static let values = Array("values".utf8)

    private mutating func insert(_ path: [String], _ leaf: Leaf) {
        var node = Self.root
        for segment in path {
            let key = Array(segment.utf8)
            if let next = edges.first(where: { $0.parent == node && keyBytes[$0.keyStart..<($0.keyStart + $0.keyCount)].elementsEqual(key) }) {
                node = next.child
            } else {
                edges.append(Edge(parent: node, keyStart: keyBytes.count, keyCount: key.count, child: nodes.count))
                keyBytes += key
                nodes.append(Node())
                node = nodes.count - 1
            }
        }
        if nodes[node].leaf == nil { nodes[node].leaf = leaf }  // the first mapping of a path keeps it
    }

    @inline(__always)
    private static func lengthBit(_ count: Int) -> UInt64 { 1 << UInt64(min(count, 63)) }

    private func child(of node: Int, key: [UInt8]) -> Int? {
        key.withUnsafeBytes { child(of: node, key: $0) }
    }

    @inline(__always)
    func child(of node: Int, key: UnsafeRawBufferPointer) -> Int? {
        let node = nodes[node]
        guard node.keyLengths & Self.lengthBit(key.count) != 0 else { return nil }
        return edges.withUnsafeBufferPointer { edges in
            keyBytes.withUnsafeBytes { bytes in
                for index in node.edges {
                    let edge = edges[index]
                    if edge.keyCount == key.count && Self.same(key, UnsafeRawBufferPointer(rebasing: bytes[edge.keyStart..<(edge.keyStart + edge.keyCount)])) {
                        return edge.child
                    }
                }
                return nil
            }
        }
    }

    /// Byte-wise equality of two buffers of one length, without the generic `elementsEqual`.
    @inline(__always)
    static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < a.count {
            if a[index] != b[index] { return false }
            index += 1
        }
        return true
    }

    func hasChildren(_ node: Int) -> Bool { !nodes[node].edges.isEmpty }
    func leaf(_ node: Int) -> Leaf? { nodes[node].leaf }
}
