import MQTT
import Testing

struct MQTTURLTests {
    @Test func percentEscapesInCredentialsAreDecoded() throws {
        let url = try MQTTURL(parsing: "mqtt://dev%2D1:p%40ss%3Aword@broker.local:8883")
        #expect(url.username == "dev-1")
        #expect(url.password == "p@ss:word")
        #expect(url.host == "broker.local" && url.port == 8883)
    }

    @Test(arguments: ["mqtt://user:pa%zzss@host:1883", "mqtt://user:pass%4@host", "mqtt://us%er@host", "mqtt://user:pass%@host", "mqtt://user:pa%FFss@host"])
    func aBadPercentEscapeIsAnError(_ text: String) {
        #expect {
            _ = try MQTTURL(parsing: text)
        } throws: { error in
            "\(error)".contains("bad percent escape") && !"\(error)".contains(text)
        }
    }
}
