import CMosquitto
import Foundation
import Synchronization

/// A libmosquitto client on its threaded loop. Callbacks run on the library's network thread: a QoS 1
/// message's PUBACK leaves only after `onMessage` returns, so whatever `onMessage` persists before it
/// returns is safe; blocking in it stops reading from the socket, which is how backpressure reaches the broker.
public final class MQTTClient: @unchecked Sendable {
    public struct Options: Sendable {
        public var clientID: String?
        /// False keeps the session (subscriptions and queued QoS 1 messages) at the broker while away.
        public var cleanSession: Bool
        public var keepAliveSeconds: Int32
        /// QoS 1 publishes not yet acknowledged that `publish` allows before it waits.
        public var maxInflight: Int
        /// Filters (re)subscribed on every connect.
        public var subscriptions: [String]
        public var subscriptionQoS: Int32
        /// The last will: published by the broker, QoS 1, when the connection ends without a DISCONNECT;
        /// retained unless `willRetained` is off (Sparkplug B's NDEATH is not retained).
        public var will: (topic: String, payload: [UInt8])?
        public var willRetained = true

        public init(clientID: String? = nil, cleanSession: Bool = true, keepAliveSeconds: Int32 = 30, maxInflight: Int = 1000,
                    subscriptions: [String] = [], subscriptionQoS: Int32 = 1, will: (topic: String, payload: [UInt8])? = nil) {
            self.clientID = clientID
            self.cleanSession = cleanSession
            self.keepAliveSeconds = keepAliveSeconds
            self.maxInflight = maxInflight
            self.subscriptions = subscriptions
            self.subscriptionQoS = subscriptionQoS
            self.will = will
        }
    }

    public let url: MQTTURL
    public let options: Options
    private let handle: OpaquePointer
    private let state = LockedValue(State())
    private let condition = NSCondition()
    private let onMessage: (@Sendable (MQTTMessage) -> Void)?
    private let onPublished: (@Sendable (Int32) -> Void)?
    private let onConnectionChange: (@Sendable (Bool, String) -> Void)?

    struct State {
        var connected = false
        var subscribed = false
        /// Reserved slots plus unacknowledged QoS 1 message ids.
        var inflight = 0
        var pending = Set<Int32>()
        /// Acknowledgements that overtook the return of `mosquitto_publish` on the caller's thread.
        var earlyAcks = Set<Int32>()
        var started = false
        var stopping = false
        var lastError = ""
        /// The broker refused the last CONNECT: its reason stays the error (the disconnect that follows says less).
        var refused = false
    }

    private static let libraryReady: Bool = {
        mosquitto_lib_init()
        return true
    }()

    /// - Parameters:
    ///   - onMessage: runs on the network thread; return only when the message is safe.
    ///   - onPublished: a QoS 1 publish was acknowledged by the broker (or a QoS 0 one was sent), by message id.
    public init(
        url: MQTTURL, options: Options,
        onMessage: (@Sendable (MQTTMessage) -> Void)? = nil,
        onPublished: (@Sendable (Int32) -> Void)? = nil,
        onConnectionChange: (@Sendable (Bool, String) -> Void)? = nil
    ) throws(MQTTError) {
        _ = Self.libraryReady
        self.url = url
        self.options = options
        self.onMessage = onMessage
        self.onPublished = onPublished
        self.onConnectionChange = onConnectionChange
        guard let handle = mosquitto_new(options.clientID, options.cleanSession, nil) else {
            throw MQTTError(code: -1, message: "mosquitto_new failed (a persistent session needs a client id)")
        }
        self.handle = handle
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        if let username = url.username {
            try check(mosquitto_username_pw_set(handle, username, url.password), "setting credentials")
        }
        if url.tls {
            // Verifies the broker's certificate and host name; without a CA file, against the system's CAs.
            try check(mosquitto_tls_set(handle, url.caFile, url.caFile == nil ? "/etc/ssl/certs" : nil, url.certificateFile, url.keyFile, nil),
                      "setting up TLS (CA file \(url.caFile ?? "none"))")
        }
        if let will = options.will {
            try check(mosquitto_will_set(handle, will.topic, Int32(will.payload.count), will.payload, 1, options.willRetained), "setting the last will on \(will.topic)")
        }
        mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, 1)
        // The library keeps its own unbounded queue past this; `publish` bounds in-flight messages itself.
        mosquitto_max_inflight_messages_set(handle, UInt32(clamping: options.maxInflight))
        mosquitto_reconnect_delay_set(handle, 1, 10, true)
        mosquitto_connect_callback_set(handle) { _, userdata, rc in
            MQTTClient.from(userdata).handleConnect(rc)
        }
        mosquitto_disconnect_callback_set(handle) { _, userdata, rc in
            MQTTClient.from(userdata).handleDisconnect(rc)
        }
        mosquitto_message_callback_set(handle) { _, userdata, message in
            guard let message else { return }
            MQTTClient.from(userdata).handleMessage(message.pointee)
        }
        // libmosquitto says why a TLS handshake failed only in its log (no disconnect callback comes then).
        mosquitto_log_callback_set(handle) { _, userdata, level, text in
            guard level & Int32(MOSQ_LOG_ERR) != 0, let text else { return }
            MQTTClient.from(userdata).handleErrorLog(String(cString: text))
        }
        mosquitto_publish_callback_set(handle) { _, userdata, mid in
            MQTTClient.from(userdata).handlePublished(mid)
        }
        mosquitto_subscribe_callback_set(handle) { _, userdata, mid, count, granted in
            let codes = granted.map { Array(UnsafeBufferPointer(start: $0, count: Int(count))) } ?? []
            MQTTClient.from(userdata).handleSubscribed(mid: mid, granted: codes)
        }
    }

    deinit {
        stop()
        mosquitto_destroy(handle)
    }

    private static func from(_ userdata: UnsafeMutableRawPointer?) -> MQTTClient {
        Unmanaged<MQTTClient>.fromOpaque(userdata!).takeUnretainedValue()
    }

    /// Connects in the background and keeps reconnecting until `stop`.
    public func start() throws(MQTTError) {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        guard !alreadyStarted else { return }
        state.withLock { $0.lastError = "" }  // what `check` reports must be this attempt's
        try check(mosquitto_connect_async(handle, url.host, url.port, options.keepAliveSeconds), "connecting to \(url)")
        try check(mosquitto_loop_start(handle), "starting the network thread")
    }

    /// Waits until connected (and subscribed, when there are subscriptions) or the deadline passes.
    @discardableResult
    public func waitUntilReady(timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        while !isReady {
            if !condition.wait(until: deadline) { return isReady }
        }
        return true
    }

    /// Connected, and subscribed when there are subscriptions.
    public var isReady: Bool {
        state.withLock { $0.connected && ($0.subscribed || options.subscriptions.isEmpty) }
    }

    public var isConnected: Bool { state.withLock { $0.connected } }
    public var lastError: String { state.withLock { $0.lastError } }
    public var inflight: Int { state.withLock { $0.inflight } }

    /// Publishes; with QoS 1 waits while `maxInflight` messages are unacknowledged (backpressure, not a queue).
    /// Returns the message id `onPublished` will report.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int32, retain: Bool = false, timeout: Duration = .seconds(30)) throws(MQTTError) -> Int32 {
        if qos > 0 {
            let deadline = Date().addingTimeInterval(timeout.seconds)
            condition.lock()
            while state.withLock({ $0.inflight >= options.maxInflight && !$0.stopping }) {
                if !condition.wait(until: deadline) {
                    condition.unlock()
                    throw MQTTError(code: -1, message: "no acknowledgement from the broker within \(timeout)")
                }
            }
            state.withLock { $0.inflight += 1 }
            condition.unlock()
        }
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { buffer in
            mosquitto_publish(handle, &mid, topic, Int32(buffer.count), buffer.baseAddress, qos, retain)
        }
        // While disconnected the library keeps a QoS 1 message and sends it after reconnecting.
        let accepted = rc == MOSQ_ERR_SUCCESS.rawValue || (qos > 0 && rc == MOSQ_ERR_NO_CONN.rawValue && mid != 0)
        if qos > 0 {
            state.withLock { state in
                if accepted, state.earlyAcks.remove(mid) == nil {
                    state.pending.insert(mid)
                } else {
                    state.inflight -= 1
                }
            }
            signal()
        }
        if !accepted { try check(rc, "publishing to \(topic)") }
        return mid
    }

    /// Waits for the broker's acknowledgement of a QoS 1 message `publish` returned the id of. False when
    /// it did not come within `timeout` (the library still holds the message and resends it after a reconnect).
    public func waitForAcknowledgement(of mid: Int32, timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(timeout.seconds)
        condition.lock()
        defer { condition.unlock() }
        while state.withLock({ $0.pending.contains(mid) && !$0.stopping }) {
            if !condition.wait(until: deadline) { break }
        }
        return !state.withLock { $0.pending.contains(mid) }
    }

    /// Disconnects and stops the network thread; no callback runs after this returns.
    public func stop() {
        let wasStarted = state.withLock { state in
            defer { state.started = false; state.stopping = true }
            return state.started
        }
        condition.broadcast()
        guard wasStarted else { return }
        mosquitto_disconnect(handle)
        mosquitto_loop_stop(handle, false)
    }

    // MARK: callbacks, on the network thread

    private func handleConnect(_ rc: Int32) {
        guard rc == 0 else {
            let reason = Self.refusal(rc)
            state.withLock { $0.lastError = reason; $0.refused = true }
            onConnectionChange?(false, "connection refused: \(reason)")
            return
        }
        state.withLock { $0.connected = true; $0.subscribed = false; $0.refused = false }
        connections += 1
        if options.subscriptions.isEmpty {
            signal()
        } else {
            subscriptionMIDs = [:]
            refused = []
            for filter in options.subscriptions {
                var mid: Int32 = 0
                mosquitto_subscribe(handle, &mid, filter, options.subscriptionQoS)
                subscriptionMIDs[mid] = filter
            }
        }
        onConnectionChange?(true, "connected to \(url)")
    }

    // Only the network thread touches these (connect, message and SUBACK callbacks).
    private var connections: UInt64 = 0
    private var pendingSubscriptions = 0
    private var subscriptionMIDs: [Int32: String] = [:]
    private var refused: [String] = []

    /// A SUBACK. A filter the broker refused (0x80, e.g. its ACL) or granted below the QoS asked for
    /// leaves the client not ready: it would otherwise look subscribed while nothing (or nothing
    /// acknowledged) arrives. It stays so until the next connect subscribes again.
    private func handleSubscribed(mid: Int32, granted: [Int32]) {
        let filter = subscriptionMIDs[mid] ?? "?"
        if granted.contains(where: { $0 == 0x80 || $0 < options.subscriptionQoS }) {
            refused.append("\(filter) (\(granted.map { $0 == 0x80 ? "refused" : "QoS \($0)" }.joined(separator: ", ")))")
        }
        pendingSubscriptions += 1
        guard pendingSubscriptions >= options.subscriptions.count else { return }
        pendingSubscriptions = 0
        if refused.isEmpty {
            state.withLock { $0.subscribed = true }
        } else {
            let reason = "the broker refused the subscription to \(refused.joined(separator: ", "))"
            state.withLock { $0.lastError = reason }
            onConnectionChange?(false, reason)
        }
        signal()
    }

    private func handleDisconnect(_ rc: Int32) {
        state.withLock { state in
            state.connected = false
            state.subscribed = false
            if rc != 0 && !state.refused { state.lastError = Self.failure(rc) }
        }
        pendingSubscriptions = 0
        onConnectionChange?(false, rc == 0 ? "disconnected" : "connection lost, reconnecting")
    }

    private func handleErrorLog(_ text: String) {
        let reason = text.contains("certificate verify failed")
            ? "TLS verification failed: the broker's certificate is not signed by the CA given (pass --ca-file, or the mqtt_ca_file setting)"
            : text
        state.withLock { if !$0.connected { $0.lastError = reason } }
    }

    /// What a refused CONNECT means, in the words a person acts on.
    static func refusal(_ rc: Int32) -> String {
        switch rc {
        case 4, 5: "not authorised: the broker refused this username and password (or this client id)"
        default: String(cString: mosquitto_connack_string(rc))
        }
    }

    /// What a failed or lost connection means.
    static func failure(_ rc: Int32) -> String {
        switch rc {
        case Int32(MOSQ_ERR_TLS.rawValue): "TLS failed (is the broker's certificate signed by the CA given? pass --ca-file, or the mqtt_ca_file setting)"
        case Int32(MOSQ_ERR_CONN_REFUSED.rawValue), Int32(MOSQ_ERR_AUTH.rawValue): "not authorised: the broker refused this username and password"
        case Int32(MOSQ_ERR_CONN_LOST.rawValue): "connection lost"
        default: String(cString: mosquitto_strerror(rc))
        }
    }

    private func handleMessage(_ message: mosquitto_message) {
        guard let onMessage else { return }
        let topic = message.topic.map { String(cString: $0) } ?? ""
        // Copy now: libmosquitto frees the payload when this callback returns.
        let payload: [UInt8]
        if let bytes = message.payload, message.payloadlen > 0 {
            payload = Array(UnsafeRawBufferPointer(start: bytes, count: Int(message.payloadlen)))
        } else {
            payload = []
        }
        onMessage(MQTTMessage(topic: topic, payload: payload, qos: message.qos, retain: message.retain, mid: message.mid, connection: connections))
    }

    private func handlePublished(_ mid: Int32) {
        state.withLock { state in
            if state.pending.remove(mid) != nil {
                state.inflight -= 1
            } else if state.inflight > state.pending.count {
                // QoS 1 publish whose id is not recorded yet: its caller will find it here.
                state.earlyAcks.insert(mid)
            }
        }
        signal()
        onPublished?(mid)
    }

    private func signal() {
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    private func check(_ rc: Int32, _ action: String) throws(MQTTError) {
        guard rc != MOSQ_ERR_SUCCESS.rawValue else { return }
        // A TLS handshake can fail inside the call: the log callback has said why (`lastError`).
        let logged = state.withLock { $0.lastError }
        let reason = rc == MOSQ_ERR_ERRNO.rawValue ? String(cString: strerror(errno))
            : rc == MOSQ_ERR_TLS.rawValue && !logged.isEmpty ? logged : Self.failure(rc)
        throw MQTTError(code: rc, message: "MQTT \(action): \(reason)")
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
