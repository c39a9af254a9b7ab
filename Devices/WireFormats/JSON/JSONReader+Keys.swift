extension JSONReader {
    /// Reads an object key and finds it among `node`'s children in `tree`. `isValues`: the key is
    /// `values` (ThingsBoard's reading object).
    mutating func keyNode(in tree: JSONKeyTree, at node: Int) throws(DecodeError) -> (node: Int?, isValues: Bool) {
        try withKey { key in (tree.child(of: node, key: key), key.count == 6 && key.elementsEqual("values".utf8)) }
    }
}
