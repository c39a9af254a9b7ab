import SensorModel
import StorageEvents
import Testing

@testable import StorageWriter

/// The threshold rules' state machine, apart from PostgreSQL: what a batch of readings does to a rule's
/// state for a device, and which episodes it raises and clears (docs/alerts.md#threshold-rules).
struct AlertEvaluationTests {
    static let sensor = SensorType(name: "temperature", fields: [Field(name: "celsius", unit: "Cel", min: -90, max: 150)])
    static let second: Int64 = 1_000_000

    static func rule(_ condition: AlertRule.Condition = .above, threshold: Double = 30, clear: Double? = nil, for seconds: Int64 = 0, prefix: String? = nil) -> AlertRule {
        AlertRule(id: "r1", name: "hot", sensor: "temperature", condition: condition, field: "celsius", threshold: threshold, clearThreshold: clear,
                  forMicros: seconds * second, devicePrefix: prefix)
    }

    /// One device's readings: (seconds, value), NaN for a reading without the field.
    static func batch(_ readings: [(Int64, Double)], device: String = "d1") -> IngestBatch {
        var batch = IngestBatch(fieldCount: 1)
        for (time, value) in readings {
            let row = batch.readings.appendRow(time: time * second, seq: 0)
            batch.readings.set(field: 0, row: row, value)
        }
        batch.closeSpan(device: device, from: 0)
        return batch
    }

    static let key = AlertEvaluation.Key(rule: "r1", device: 7)

    static func evaluate(_ rule: AlertRule, _ readings: [(Int64, Double)], from state: AlertEvaluation.State? = nil) -> AlertEvaluation.Outcome {
        var evaluation = AlertEvaluation(sensor: sensor, rules: [rule])
        return evaluation.evaluate(batch(readings), ids: ["d1": 7], states: state.map { [key: $0] } ?? [:])
    }

    @Test func aBreachRaisesOnlyOnceItHeldForTheDuration() {
        // Above from 10 s; 11 s is 1 s in; 12 s is 2 s in: raised there, with the start at 10 s.
        let outcome = Self.evaluate(Self.rule(for: 2), [(9, 25), (10, 31), (11, 32), (12, 33), (13, 34)])
        #expect(outcome.raised.count == 1)
        #expect(outcome.raised.first.map { ($0.started, $0.raised, $0.value) } ?? (0, 0, 0) == (10 * Self.second, 12 * Self.second, 33))
        #expect(outcome.states[Self.key] == .init(phase: .raised, since: 12 * Self.second))
    }

    @Test func aDipBeforeTheDurationStartsOver() {
        let outcome = Self.evaluate(Self.rule(for: 2), [(10, 31), (11, 29), (12, 31), (13, 31)])
        #expect(outcome.raised.isEmpty)
        #expect(outcome.states[Self.key] == .init(phase: .pending, since: 12 * Self.second))
    }

    @Test func readingsArriveOutOfOrderWithinABatchAndAreTakenInTimeOrder() {
        let outcome = Self.evaluate(Self.rule(for: 2), [(13, 34), (10, 31), (12, 33), (11, 32)])
        #expect(outcome.raised.first?.raised == 12 * Self.second)
    }

    @Test func hysteresisClearsOnlyAtTheClearLevel() {
        let raised = AlertEvaluation.State(phase: .raised, since: 5 * Self.second)
        let held = Self.evaluate(Self.rule(clear: 28), [(10, 29.5), (11, 28.5)], from: raised)
        #expect(held.cleared.isEmpty && held.states.isEmpty, "below the threshold, above the clear level: still raised")
        let cleared = Self.evaluate(Self.rule(clear: 28), [(10, 29.5), (11, 28)], from: raised)
        #expect(cleared.cleared.count == 1 && cleared.cleared.first?.at == 11 * Self.second && cleared.cleared.first?.value == 28)
        #expect(cleared.states[Self.key] == .init(phase: .normal, since: 11 * Self.second))
    }

    @Test func onlyTheReadingsTheBatchStoredAreEvaluated() {
        // A redelivered batch: 10 s was stored before (a duplicate now), 11 s is new.
        var evaluation = AlertEvaluation(sensor: Self.sensor, rules: [Self.rule()])
        let stored: Set<AlertEvaluation.Reading> = [.init(device: 7, time: 11 * Self.second)]
        let outcome = evaluation.evaluate(Self.batch([(10, 31), (11, 25)]), ids: ["d1": 7], states: [:], stored: stored)
        #expect(outcome.raised.isEmpty && outcome.states.isEmpty, "the duplicate at 10 s raised nothing")
        let all = evaluation.evaluate(Self.batch([(10, 31), (11, 25)]), ids: ["d1": 7], states: [:])
        #expect(all.raised.count == 1, "with every reading stored, 10 s raises")
    }

    @Test func aBatchThatRaisesAndClearsWritesOneClosedEpisodeAndCanRaiseAgain() {
        let outcome = Self.evaluate(Self.rule(), [(10, 31), (11, 20), (12, 35)])
        #expect(outcome.raised.count == 2)
        #expect(outcome.raised[0].cleared?.at == 11 * Self.second && outcome.raised[1].cleared == nil)
        #expect(outcome.cleared.isEmpty)
    }

    /// A replayed journal or a redelivery brings readings already evaluated: those at or before the last
    /// change are skipped, so a replay raises nothing again.
    @Test func readingsAtOrBeforeTheLastChangeAreNotEvaluatedAgain() {
        let normal = AlertEvaluation.State(phase: .normal, since: 20 * Self.second)
        let replay = Self.evaluate(Self.rule(), [(10, 31), (15, 40), (20, 35)], from: normal)
        #expect(replay.raised.isEmpty && replay.states.isEmpty)
    }

    @Test func belowRulesAndMissingFields() {
        let outcome = Self.evaluate(Self.rule(.below, threshold: 5, clear: 7), [(10, .nan), (11, 4), (12, 6), (13, 7)])
        #expect(outcome.raised.count == 1 && outcome.raised[0].raised == 11 * Self.second && outcome.raised[0].cleared?.at == 13 * Self.second)
    }

    @Test func scopesPickTheirDevices() {
        var evaluation = AlertEvaluation(sensor: Self.sensor, rules: [Self.rule(prefix: "green-")])
        #expect(evaluation.devices(in: Self.batch([(1, 40)], device: "green-1")) == ["green-1"])
        #expect(evaluation.devices(in: Self.batch([(1, 40)], device: "red-1")).isEmpty)
        let one = AlertRule(id: "r2", name: "x", sensor: "temperature", condition: .above, field: "celsius", threshold: 1, device: "red-1")
        #expect(one.applies(to: "red-1") && !one.applies(to: "red-10"))
    }

    @Test func theStatementsNameEveryChange() {
        let outcome = Self.evaluate(Self.rule(), [(10, 31), (11, 20), (12, 35)])
        let statements = AlertEvaluation(sensor: Self.sensor, rules: [Self.rule()]).statements(outcome)
        #expect(statements.count == 2, "the state, and the episodes with their outbox rows")
        #expect(statements[0].contains("INSERT INTO alert_state") && statements[1].contains("INSERT INTO alert_episodes") && statements[1].contains("alert_outbox"))
        #expect(AlertEvaluation(sensor: Self.sensor, rules: []).statements(.init()).isEmpty)
    }
}
