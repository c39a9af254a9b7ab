import Testing
import StorageCore

@Suite struct StandbyURLTests {
    /// A history pool's URL: the same hosts and parameters, `target_session_attrs` replaced, never doubled.
    @Test func preferringStandbyReplacesTheTargetSessionAttributes() {
        let cluster = "postgresql://postgres@10.0.0.1:5432,10.0.0.2:5432/telemetry?target_session_attrs=read-write&connect_timeout=3"
        #expect(StandbyURL.preferringStandby(cluster) == "postgresql://postgres@10.0.0.1:5432,10.0.0.2:5432/telemetry?connect_timeout=3&target_session_attrs=prefer-standby")
        #expect(StandbyURL.preferringStandby("postgres://db/telemetry") == "postgres://db/telemetry?target_session_attrs=prefer-standby")
        #expect(StandbyURL.preferringStandby("host=a,b dbname=telemetry target_session_attrs=read-write")
            == "host=a,b dbname=telemetry target_session_attrs=prefer-standby")
    }
}
