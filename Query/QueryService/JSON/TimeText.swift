import SensorModel

/// RFC 3339 text lives in SensorModel (payloads carry it too); the routes keep calling it by this name.
typealias TimeText = SensorModel.TimeText
