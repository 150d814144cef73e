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

    /// Each stage's duration, named as in `/metrics` (`chat_write_stage_seconds{stage=…}`),
    /// ending with the handler resuming at `answered`; stages not reached are left out.
    func stages(answered: ContinuousClock.Instant) -> [(stage: String, duration: Duration)] {
        let marks: [(String, ContinuousClock.Instant?, ContinuousClock.Instant?)] = [
            ("authenticate", received, authenticated),
            ("validate", authenticated, submitted),
            ("to_driver", submitted, proposed),
            ("leader_persist", proposed, persisted),
            ("quorum", proposed, committed),
            ("apply", committed, applied),
            ("resume_handler", resumed, answered),
            ("total", received, answered),
        ]
        return marks.compactMap { stage, start, end in
            guard let start, let end else { return nil }
            return (stage, end - start)
        }
    }
}
