import Foundation
import Postgres
import Testing

/// LISTEN/NOTIFY as the platform's listeners use it (broker-sync, the live streams):
/// libpq reads a notification off the socket while it waits for a query's result and keeps it, so a
/// listener that then waits on the socket alone sleeps through it until the next one comes. broker-sync
/// did so in a CI run: a credential issued during a write reached the broker only with a later change.
@Suite(.timeLimit(.minutes(4)))
struct NotificationTests {
    @Test func aNotificationReadDuringAQueryIsNotWaitedFor() async throws {
        let database = try TestServers.require().makeDatabase()
        let listener = try PGConnection(url: database), sender = try PGConnection(url: database)
        try listener.execute("LISTEN test_channel")
        try sender.execute("NOTIFY test_channel, 'one'")
        // Once it is on the socket, a query on the listening connection makes libpq read it.
        #expect(try listener.waitForInput(timeout: 10), "the notification did not arrive")
        try listener.execute("SELECT 1")
        #expect(try !listener.waitForInput(timeout: 0.2), "libpq left the notification on the socket: this test checks nothing")
        let started = ContinuousClock.now
        let received = try listener.nextNotifications(timeout: 5)
        #expect(received.map(\.channel) == ["test_channel"] && received.map(\.payload) == ["one"])
        #expect(ContinuousClock.now - started < .seconds(1), "waited on the socket for a notification libpq already held")
    }
}
