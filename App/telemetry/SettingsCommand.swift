import ArgumentParser
import Settings

/// `telemetry settings`: every setting the platform reads, from the settings layer itself, so the
/// documentation is generated rather than copied (`--markdown` is docs/settings.md).
struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "Lists every setting: its key in the file, its environment variable and its default.",
        discussion: "--markdown prints the page docs/settings.md is (a test holds the committed page to it).")

    @Flag(help: "Print docs/settings.md: the settings as a Markdown page.") var markdown = false

    func run() {
        if markdown {
            print(PlatformSettings.markdownPage(), terminator: "")
            return
        }
        for setting in PlatformSettings.all {
            print("\(setting.key)\t\(Setting.variable(of: setting.key))\t\(setting.defaultText)")
        }
    }
}
