import Foundation
import Testing
@testable import QueryService

@Suite struct JSONWriterTests {
    @Test func escapesAndNestsValidJSON() throws {
        var json = JSONWriter()
        json.beginObject()
        json.field("text", "quote \" backslash \\ newline \n control \u{01}")
        json.field("whole", 60.0)
        json.field("fraction", 21.4)
        json.field("missing", nil as Double?)
        json.key("list")
        json.beginArray()
        json.integer(1)
        json.string("two")
        json.endArray()
        json.endObject()
        #expect(json.text == #"{"text":"quote \" backslash \\ newline \n control \u0001","whole":60,"fraction":21.4,"missing":null,"list":[1,"two"]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any]
        #expect(parsed?["text"] as? String == "quote \" backslash \\ newline \n control \u{01}")
    }
}
