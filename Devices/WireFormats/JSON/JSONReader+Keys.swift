extension JSONReader {
    /// Reads an object key and finds it among `node`'s children in `tree`. `isValues`: the key is
    /// `values` (ThingsBoard's reading object), looked at only where `valuesMayFollow`. No closure: one
    /// capturing the tree would copy it (a retain per array) for every key.
    mutating func keyNode(in tree: JSONKeyTree, at node: Int, valuesMayFollow: Bool) throws(DecodeError) -> (node: Int?, isValues: Bool) {
        if let key = try plainKey() { return Self.lookUp(key, in: tree, at: node, valuesMayFollow) }
        return try string().withUnsafeBytes { Self.lookUp($0, in: tree, at: node, valuesMayFollow) }
    }

    @inline(__always)
    private static func lookUp(_ key: UnsafeRawBufferPointer, in tree: JSONKeyTree, at node: Int, _ valuesMayFollow: Bool) -> (node: Int?, isValues: Bool) {
        let child = tree.child(of: node, key: key)
        guard child == nil, valuesMayFollow, key.count == 6 else { return (child, false) }
        return (nil, JSONKeyTree.values.withUnsafeBytes { JSONKeyTree.same(key, $0) })
    }
}
