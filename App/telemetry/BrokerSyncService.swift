import ArgumentParser
import DeviceIdentity
import Foundation
import Logging
import MQTT
import SensorModel
import ServiceLifecycle
import Settings

/// The sync thread as a service of the group: started at once, stopped at shutdown.
struct BrokerSyncService: Service {
    let sync: BrokerSync

    func run() async throws {
        sync.start()
        try? await gracefulShutdown()
        sync.stop()
    }
}
