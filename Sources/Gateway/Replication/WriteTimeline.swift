/// When one write passed each stage on its way through the leader: stamped by the handler
/// before it submits, then by the driver, then read by the handler once `submit` returns.
///
/// Not locked: the handler's stamps happen before the proposal enters the driver's mailbox
/// (a lock hand-off), and the driver's before it resumes the handler's continuation, so no
/// two threads ever touch it at once.
public final class WriteTimeline: @unchecked Sendable {
    /// The request reached the API (on the epoll thread).
    let received: ContinuousClock.Instant
    var authenticated: ContinuousClock.Instant?
    var submitted: ContinuousClock.Instant?
    /// The driver took the proposal and appended it to the leader's log.
    var proposed: ContinuousClock.Instant?
    /// The leader's own copy is on disk (fsync included).
    var persisted: ContinuousClock.Instant?
    /// The driver learned that a majority has the entry.
    var committed: ContinuousClock.Instant?
    /// The entry is applied to the chat state here.
    var applied: ContinuousClock.Instant?
    /// The driver resumed the waiting handler.
    var resumed: ContinuousClock.Instant?

    init(received: ContinuousClock.Instant) {
        self.received = received
    }

    /// The stages of a send on the leader, in the order `/metrics` lists them.
    enum Stage: Int, CaseIterable {
        case authenticate, validate, toDriver, leaderPersist, quorum, apply, resumeHandler, total

        /// The `stage` label in `/metrics` (`chat_write_stage_seconds{stage=…}`).
        var name: String {
            switch self {
            case .authenticate: "authenticate"
            case .validate: "validate"
            case .toDriver: "to_driver"
            case .leaderPersist: "leader_persist"
            case .quorum: "quorum"
            case .apply: "apply"
            case .resumeHandler: "resume_handler"
            case .total: "total"
            }
        }
    }

    /// Calls `body` with each stage's duration, ending with the handler resuming at
    /// `answered`; stages not reached are left out. Nothing is allocated: it runs for every send.
    func forEachStage(answered: ContinuousClock.Instant, _ body: (Stage, Duration) -> Void) {
        func report(_ stage: Stage, _ start: ContinuousClock.Instant?, _ end: ContinuousClock.Instant?) {
            if let start, let end { body(stage, end - start) }
        }
        report(.authenticate, received, authenticated)
        report(.validate, authenticated, submitted)
        report(.toDriver, submitted, proposed)
        report(.leaderPersist, proposed, persisted)
        report(.quorum, proposed, committed)
        report(.apply, committed, applied)
        report(.resumeHandler, resumed, answered)
        report(.total, received, answered)
    }
}
