import Testing
@testable import IngestService

/// A device's text cannot start a log line of its own or send terminal escapes.
struct LogTextTests {
    @Test func controlCharactersAreEscapedAndLongTextIsCut() {
        #expect(LogText.escape("x\nFORGED-LINE\u{1B}[31m") == "x\\u{A}FORGED-LINE\\u{1B}[31m")
        #expect(LogText.escape("a\0b\r\u{85}c\u{2028}") == "a\\u{0}b\\u{D}\\u{85}c\\u{2028}")
        #expect(LogText.escape("telemetry/temperature/dev-1/text") == "telemetry/temperature/dev-1/text")
        #expect(LogText.escape("é😀") == "é😀")
        #expect(LogText.escape(String(repeating: "y", count: 600)).count == 513)
    }
}
