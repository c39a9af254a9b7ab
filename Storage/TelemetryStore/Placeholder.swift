// TelemetryStore
