import SensorModel

public enum Micros {
    public static let perDay: Int64 = 86_400_000_000
    public static let perHour: Int64 = 3_600_000_000

    /// Hours since the epoch, floor division.
    public static func hour(of micros: Int64) -> Int64 {
        micros >= 0 ? micros / perHour : (micros - perHour + 1) / perHour
    }

    /// Floor division, so times before 1970 land in the right day.
    public static func day(of micros: Int64) -> Int64 {
        micros >= 0 ? micros / perDay : (micros - perDay + 1) / perDay
    }
}
