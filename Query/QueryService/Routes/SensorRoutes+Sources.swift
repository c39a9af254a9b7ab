import SensorModel

extension SensorRoutes {
    /// A sensor type's catalog `sources`: the topics off-the-shelf firmware publishes to that it also
    /// takes, each with what a device (or whoever configures it) must match: the pattern, the format and
    /// where the values sit in the payload.
    static func writeSources(_ sensor: SensorType, into json: inout JSONWriter) {
        json.key("sources")
        json.beginArray()
        for source in sensor.sources {
            json.beginObject()
            json.field("topic", source.topic)
            json.field("format", source.format.rawValue)
            json.field("description", source.description)
            if let envelope = source.envelope, let device = source.storedDevice {
                json.field("envelope", envelope.rawValue)
                json.field("device", device.rawValue)
                json.key("uplink")
                json.beginObject()
                for (field, metadata) in source.uplink.sorted(by: { $0.key < $1.key }) { json.field(field, metadata.rawValue) }
                json.endObject()
            }
            switch source.format {
            case .json, .sparkplug:
                // Every field, as the decoder reads it: the source's key paths (or metric names), else the
                // field's name and aliases (a field an uplink fills is not read from the payload).
                json.key("fields")
                json.beginObject()
                for field in sensor.fields where source.uplink[field.name] == nil {
                    json.key(field.name)
                    json.beginArray()
                    for path in source.keyPaths(for: field) { json.string(path) }
                    json.endArray()
                }
                json.endObject()
                if source.format == .json { json.field("time", source.time) }
            case .text:
                json.field("field", sensor.textField(named: source.field).map { sensor.fields[$0].name })
            default:
                break
            }
            json.endObject()
        }
        json.endArray()
    }
}
