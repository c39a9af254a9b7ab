import Foundation
import MQTT

/// The broker by itself: the pipeline's load generator (same connections, frames and QoS, unpaced) into
/// mosquitto, and one minimal QoS 1 subscriber that only counts. Returns messages per second delivered
/// to the subscriber, and what the load generator reported.
func measureBrokerAlone(url: MQTTURL, messages: Int, samples: Int, devices: Int, connections: Int, window: Int) throws -> (Double, LoadReport) {
    let root = "bench-broker/\(UUID().uuidString.prefix(8))"
    let subscriber = try CountingSubscriber(url: url, filter: root + "/#")
    defer { subscriber.stop() }
    let start = monotonicNanos()
    let load = try generateLoad(LoadSpec(
        mqtt: url, topicRoot: root, devicePrefix: "dev", devices: devices, samples: samples, rate: nil, messages: messages,
        connections: connections, window: window))
    if let failure = load.failure { throw BenchError("broker alone: \(failure)") }
    let deadline = Date().addingTimeInterval(120)
    while subscriber.received.load(ordering: .relaxed) < messages && Date() < deadline { usleep(1000) }
    let got = subscriber.received.load(ordering: .relaxed)
    guard got >= messages else { throw BenchError("broker alone: only \(got) of \(messages) delivered") }
    return (Double(messages) / (Double(subscriber.lastReceived.load(ordering: .relaxed) - start) / 1e9), load)
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
