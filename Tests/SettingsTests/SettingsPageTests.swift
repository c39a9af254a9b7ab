import Foundation
import Settings
import Testing

/// docs/settings.md is generated from the settings layer; a setting added, removed or reworded without
/// regenerating the page fails here, so the page cannot drift.
struct SettingsPageTests {
    static let pagePath = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/settings.md").standardized.path

    @Test func docsSettingsPageIsTheGeneratedOne() throws {
        let committed = try String(contentsOfFile: Self.pagePath, encoding: .utf8)
        let generated = PlatformSettings.markdownPage()
        let firstDifference = zip(committed.split(separator: "\n", omittingEmptySubsequences: false), generated.split(separator: "\n", omittingEmptySubsequences: false))
            .enumerated().first { $0.element.0 != $0.element.1 }
            .map { "line \($0.offset + 1): page has \"\($0.element.0)\", generated \"\($0.element.1)\"" } ?? "lengths differ"
        let same = committed == generated  // not inside #expect: it would print both pages whole
        #expect(same, "docs/settings.md is not what `telemetry settings --markdown` prints (\(firstDifference)); regenerate it: swift run telemetry settings --markdown > docs/settings.md")
    }

    @Test func everySettingHasOneRow() {
        let rows = PlatformSettings.markdownPage().split(separator: "\n").filter { $0.hasPrefix("| `") }
        #expect(rows.count == PlatformSettings.all.count)
    }
}
