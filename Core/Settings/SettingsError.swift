/// A wrong setting: stops start-up with one line naming it (the variable, or `<file>: <key>`).
public struct SettingsError: Error, Sendable, CustomStringConvertible {
    public var setting: String
    public var message: String

    public init(setting: String, message: String) {
        self.setting = setting
        self.message = message
    }

    public var description: String { "\(setting): \(message)" }
}
