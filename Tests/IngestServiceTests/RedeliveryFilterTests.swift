import Testing
@testable import IngestService

/// Only a resend of a recent message on a later connection counts as a redelivery.
struct RedeliveryFilterTests {
    @Test func aResendOnTheNextConnectionIsRecognisedAndNothingElseIs() {
        let filter = RedeliveryFilter()
        for mid in 1...20 { #expect(!filter.isRedelivery(mid: Int32(mid), connection: 1, topic: "t/d/text", payload: [UInt8(mid)])) }
        // The same message again on the same connection is a new message (a device may repeat itself).
        #expect(!filter.isRedelivery(mid: 21, connection: 1, topic: "t/d/text", payload: [20]))
        // After a reconnect: ids 15...21 again with the same bytes are resends; another payload or topic is not.
        #expect(filter.isRedelivery(mid: 15, connection: 2, topic: "t/d/text", payload: [15]))
        #expect(!filter.isRedelivery(mid: 16, connection: 2, topic: "t/d/text", payload: [99]))
        #expect(!filter.isRedelivery(mid: 17, connection: 2, topic: "t/other/text", payload: [17]))
        #expect(!filter.isRedelivery(mid: 22, connection: 2, topic: "t/d/text", payload: [20]))
    }

    @Test func anOldMessageWhoseIdComesRoundAgainIsNotARedelivery() {
        let filter = RedeliveryFilter()
        #expect(!filter.isRedelivery(mid: 7, connection: 1, topic: "t", payload: [1]))
        // Many more messages on the first connection: id 7's entry is no longer among the recent ones.
        for n in 0..<Int(RedeliveryFilter.window) + 10 {
            _ = filter.isRedelivery(mid: Int32(100 + n), connection: 1, topic: "t", payload: [2])
        }
        #expect(!filter.isRedelivery(mid: 7, connection: 2, topic: "t", payload: [1]))
    }

    @Test func onlyTheFirstMessagesOfAConnectionAreChecked() {
        let filter = RedeliveryFilter()
        #expect(!filter.isRedelivery(mid: 5000, connection: 1, topic: "t", payload: [1]))
        for n in 0..<Int(RedeliveryFilter.window) { _ = filter.isRedelivery(mid: Int32(1 + n), connection: 2, topic: "t", payload: [3]) }
        #expect(!filter.isRedelivery(mid: 5000, connection: 2, topic: "t", payload: [1]))
    }
}
