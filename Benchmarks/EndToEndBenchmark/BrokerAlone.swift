import Foundation
import MQTT
import Synchronization

/// The broker by itself: one libmosquitto publisher and one subscriber, same message size and QoS as
/// the pipeline run, as fast as the in-flight window allows. Returns messages per second delivered.
func measureBrokerAlone(url: MQTTURL, messages: Int, payloadSize: Int, qos: Int32) throws -> Double {
    let received = Atomic<Int>(0)
    let topicRoot = "bench-broker/\(UUID().uuidString.prefix(8))"
    let subscriber = try MQTTClient(
        url: url,
        options: .init(clientID: "bench-sub-\(UUID().uuidString.prefix(8))", cleanSession: true, subscriptions: [topicRoot + "/#"], subscriptionQoS: qos),
        onMessage: { _ in received.add(1, ordering: .relaxed) })
    try subscriber.start()
    guard subscriber.waitUntilReady(timeout: .seconds(10)) else { throw BenchError("subscriber did not connect") }
    let publisher = try MQTTClient(url: url, options: .init(clientID: "bench-pub-\(UUID().uuidString.prefix(8))", cleanSession: true, maxInflight: 1000))
    try publisher.start()
    guard publisher.waitUntilReady(timeout: .seconds(10)) else { throw BenchError("publisher did not connect") }
    let payload = [UInt8](repeating: 0x5A, count: payloadSize)
    let clock = ContinuousClock()
    let start = clock.now
    for index in 0..<messages {
        try publisher.publish(topic: "\(topicRoot)/dev-\(index % 100)", payload: payload, qos: qos)
    }
    let deadline = clock.now.advanced(by: .seconds(120))
    while received.load(ordering: .relaxed) < messages && clock.now < deadline { Thread.sleep(forTimeInterval: 0.001) }
    let elapsed = clock.now - start
    publisher.stop()
    subscriber.stop()
    let got = received.load(ordering: .relaxed)
    guard got >= messages else { throw BenchError("broker alone: only \(got) of \(messages) delivered") }
    return Double(messages) / elapsed.seconds
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
