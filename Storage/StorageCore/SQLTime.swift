/// Times cross the SQL boundary as µs since the epoch in int8 parameters and columns, never as text.
package enum SQLTime {
    /// A timestamptz column read as int8 µs since the epoch.
    package static func micros(_ column: String) -> String { "(extract(epoch from \(column)) * 1000000)::int8" }
    /// An int8 µs parameter used as a timestamptz.
    package static func timestamp(_ parameter: String) -> String { "(timestamptz 'epoch' + \(parameter)::int8 * interval '1 microsecond')" }
}
