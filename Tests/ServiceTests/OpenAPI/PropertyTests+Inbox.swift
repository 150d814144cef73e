import Foundation
import PropertyBased
import Testing

/// One step of a random conversation with one inbox.
enum InboxStep: Sendable, CustomStringConvertible {
    /// `count` messages sent to the inbox.
    case send(count: Int)
    /// An acknowledgement of `lastSeq - behind`, never below 0 (so `behind` < 0 is beyond the end).
    case acknowledge(behind: Int64)
    /// A read with `after: lastSeq - behind` (never below 0) and `limit`.
    case read(behind: Int64, limit: Int32)

    var description: String {
        switch self {
        case .send(let count): "send(\(count))"
        case .acknowledge(let behind): "ack(last-\(behind))"
        case .read(let behind, let limit): "read(after: last-\(behind), limit: \(limit))"
        }
    }

    static let generator = zip(Gen.int(in: 0...2), Gen.int(in: 1...3), Gen.int64(in: -1...4), Gen.int32(in: 1...4))
        .map { kind, count, behind, limit -> InboxStep in
            switch kind {
            case 0: .send(count: count)
            case 1: .acknowledge(behind: behind)
            default: .read(behind: behind, limit: limit)
            }
        }
}

/// What the inbox should hold: every message after the acknowledged one.
struct InboxModel {
    var lastSeq: Int64 = 0
    var ackedSeq: Int64 = 0
    var bodies: [Int64: String] = [:]

    /// The stored messages after `after`, as (seq, body), in order.
    func messages(after: Int64, limit: Int) -> [(Int64, String)] {
        let start = max(after, ackedSeq)
        return Array(bodies.keys.filter { $0 > start }.sorted().prefix(limit).map { ($0, bodies[$0]!) })
    }

    func target(behind: Int64) -> Int64 { max(0, lastSeq - behind) }
}

extension PropertyTests {
    @Test func anInboxAlwaysEqualsTheModelOfItsSendsAndAcknowledgements() async throws {
        let shared = try await Self.connection()
        await propertyCheck(count: Self.iterationCount, input: InboxStep.generator.array(of: 1...12)) { steps in
            let senderUser = try await shared.register(APIGen.uniqueMiddle())
            let sender = shared.authenticated(as: senderUser)
            let recipientUser = try await shared.register(APIGen.uniqueMiddle())
            let recipient = shared.authenticated(as: recipientUser)
            var model = InboxModel()
            for (index, step) in steps.enumerated() {
                let context = "step \(index) \(step) of \(steps)"
                switch step {
                case .send(let count):
                    for _ in 0..<count {
                        let body = "m\(model.lastSeq + 1)-\(UUID().uuidString.prefix(4))"
                        let message = try await sender.client.sendMessage(body: .json(.init(to: recipientUser.username, body: body)))
                            .created.body.json
                        model.lastSeq += 1
                        model.bodies[model.lastSeq] = body
                        #expect(message.seq == model.lastSeq, "\(context)")
                    }
                case .acknowledge(let behind):
                    let upTo = model.target(behind: behind)
                    let answer = try await recipient.client.acknowledgeInbox(body: .json(.init(up_to: upTo))).ok.body.json
                    let expected = max(model.ackedSeq, min(upTo, model.lastSeq))
                    #expect(answer.acked_up_to == expected, "\(context)")
                    for seq in model.bodies.keys where seq <= expected { model.bodies[seq] = nil }
                    model.ackedSeq = expected
                case .read(let behind, let limit):
                    let after = model.target(behind: behind)
                    let inbox = try await recipient.client.readInbox(query: .init(after: after, limit: limit)).ok.body.json
                    let expected = model.messages(after: after, limit: Int(limit))
                    #expect(inbox.messages.map(\.seq) == expected.map(\.0), "\(context)")
                    #expect(inbox.next_after == (expected.last?.0 ?? after), "\(context)")
                }
                let inbox = try await Self.expectInbox(of: recipient, equals: model, context: context)
                #expect(inbox.messages.allSatisfy { $0.from == senderUser.username && $0.to == recipientUser.username })
            }
        }
    }

    /// The default read (after the acknowledged message) returns exactly the model's messages.
    @discardableResult
    static func expectInbox(
        of recipient: OpenAPIConnection, equals model: InboxModel, context: String
    ) async throws -> Components.Schemas.Inbox {
        let inbox = try await recipient.client.readInbox().ok.body.json
        let expected = model.messages(after: model.ackedSeq, limit: 1000)
        let seqs = inbox.messages.map(\.seq)
        #expect(seqs == expected.map(\.0), "\(context)")
        #expect(inbox.messages.map(\.body) == expected.map(\.1), "\(context)")
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "seqs not strictly increasing: \(seqs)")
        #expect(inbox.next_after == (seqs.last ?? model.ackedSeq), "\(context)")
        return inbox
    }
}
