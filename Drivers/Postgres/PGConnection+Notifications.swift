import CLibPQ
import Foundation

/// A NOTIFY received on a channel this connection LISTENs to.
public struct PGNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
}

extension PGConnection {
    /// Reads whatever the server has sent without blocking and returns the notifications in it.
    public func notifications() throws(PGError) -> [PGNotification] {
        let connection = try rawConnection()
        guard PQconsumeInput(connection) == 1 else {
            throw PGError(sqlState: "08006", message: "connection to PostgreSQL lost: \(Self.lastMessage(connection))")
        }
        var received: [PGNotification] = []
        while let notify = PQnotifies(connection) {
            received.append(PGNotification(channel: String(cString: notify.pointee.relname), payload: String(cString: notify.pointee.extra)))
            PQfreemem(notify)
        }
        return received
    }

    /// Waits until the server has sent something (or the connection broke), or `wake` (a descriptor of
    /// the caller's, -1 for none) is readable, at most `timeout` seconds. Returns whether there is input
    /// from the server to read.
    public func waitForInput(timeout: Double, orReadable wake: Int32 = -1) throws(PGError) -> Bool {
        let connection = try rawConnection()
        var descriptors = [pollfd(fd: PQsocket(connection), events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
        guard descriptors[0].fd >= 0 else { throw PGError(sqlState: "08006", message: "connection to PostgreSQL has no socket") }
        let ready = poll(&descriptors, wake >= 0 ? 2 : 1, Int32(timeout * 1000))
        return ready > 0 && descriptors[0].revents != 0
    }

    /// The notifications that have come, waiting at most `timeout` seconds for some (or until `wake` is
    /// readable) when none has. Ones libpq already read off the socket during an earlier query on this
    /// connection count: waiting on the socket alone would sleep through them until the next one came.
    public func nextNotifications(timeout: Double, orReadable wake: Int32 = -1) throws(PGError) -> [PGNotification] {
        let queued = try notifications()
        guard queued.isEmpty else { return queued }
        _ = try waitForInput(timeout: timeout, orReadable: wake)
        return try notifications()
    }
}
