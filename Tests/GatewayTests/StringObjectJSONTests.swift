import Foundation
import Testing
@testable import Gateway
import ReplicaCore

/// The hot path's JSON agrees with Foundation's: the reader takes only what `JSONDecoder`
/// reads the same way (anything else falls back to it), and the writer's output decodes to
/// what `JSONEncoder`'s does.
@Suite struct StringObjectJSONTests {
    static let bodies: [String] = [
        #"{"to":"bob","body":"hi"}"#,
        #" { "body" : "hi" , "to" : "bob" } "#,
        "{\"to\":\"bob\",\n\t\"body\":\"two\\nlines\"}\r\n",
        #"{"to":"bob","body":"quote \" backslash \\ slash \/ tab \t"}"#,
        #"{"to":"bob","body":"\b\f\r"}"#,
        #"{"to":"bob","body":"héllo 💬 日本"}"#,
        #"{"to":"bob","body":"\u00e9 escaped"}"#,
        #"{"to":"bob","body":"\ud83d\udcac"}"#,
        #"{"to":"bob","body":"hi","extra":"x"}"#,
        #"{"to":"bob","body":"hi","to":"carol"}"#,
        #"{"to":"bob","body":5}"#,
        #"{"to":"bob"}"#,
        #"{"to":"bob","body":"hi"} trailing"#,
        #"{"to":"bob","body":"hi",}"#,
        #"["to","bob"]"#,
        #"{"to":"bob","body":"bad \x escape"}"#,
        "{\"to\":\"bob\",\"body\":\"raw \u{01} control\"}",
        #"{"to":"bob","body":"unterminated}"#,
        "",
        "{}",
        #"{"to":null,"body":"hi"}"#,
    ]

    struct Send: Decodable, Equatable {
        var to: String
        var body: String
    }

    @Test(arguments: bodies)
    func theReaderAgreesWithJSONDecoderOrStepsAside(_ text: String) {
        let bytes = Array(text.utf8)
        let foundation = try? JSONDecoder().decode(Send.self, from: Data(bytes))
        guard let fields = StringObjectJSON.parse(bytes), fields.count == 2, let to = fields["to"], let body = fields["body"]
        else { return }
        #expect(foundation == Send(to: to, body: body), "read \(fields) where JSONDecoder read \(String(describing: foundation))")
    }

    @Test func theReaderTakesTheUsualSend() {
        #expect(StringObjectJSON.parse(Array(#"{"to":"bob","body":"a \"quoted\" word"}"#.utf8)) == ["to": "bob", "body": "a \"quoted\" word"])
    }

    @Test func theReaderStepsAsideForWhatItDoesNotTake() {
        for text in [#"{"to":"bob","body":"\u00e9"}"#, #"{"to":"bob","to":"carol"}"#, #"{"to":1}"#, #"{"to":"bob"} x"#] {
            #expect(StringObjectJSON.parse(Array(text.utf8)) == nil, "took \(text)")
        }
    }

    @Test(arguments: ["plain", "quote \" and \\ and /", "line\nbreak\ttab\r", "\u{01}\u{1f}\u{7f}", "héllo 💬 \u{2028}", ""])
    func theWriterAgreesWithJSONEncoder(_ body: String) throws {
        let message = WireFormat.Message(StoredMessage(
            id: "0193-x", seq: 42, sender: "alice", recipient: "bob", body: body, sentAtMillis: 1_700_000_000_123))
        let ours = try JSONSerialization.jsonObject(with: Data(message.json)) as? NSDictionary
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let theirs = try JSONSerialization.jsonObject(with: encoder.encode(message)) as? NSDictionary
        #expect(ours != nil && ours == theirs, "wrote \(String(decoding: message.json, as: UTF8.self))")
    }

    @Test(arguments: [0, 1, 3])
    func theInboxWriterAgreesWithJSONEncoder(_ count: Int) throws {
        let messages = (0..<count).map { number in
            WireFormat.Message(StoredMessage(
                id: "id-\(number)", seq: Int64(7 + number), sender: "alice", recipient: "bob",
                body: "body \" \\ \n \(number)", sentAtMillis: 1_700_000_000_000 + Int64(number)))
        }
        let inbox = WireFormat.Inbox(messages: messages, nextAfter: 9)
        let ours = try JSONSerialization.jsonObject(with: Data(inbox.json)) as? NSDictionary
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let theirs = try JSONSerialization.jsonObject(with: encoder.encode(inbox)) as? NSDictionary
        #expect(ours != nil && ours == theirs, "wrote \(String(decoding: inbox.json, as: UTF8.self))")
    }
}
