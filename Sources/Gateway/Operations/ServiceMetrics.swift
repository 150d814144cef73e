import CoreMetrics
import Prometheus
import Synchronization

/// The replica's metrics, kept in its own Prometheus registry and rendered by `GET /metrics`.
public final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    /// Made once: a send records eight stages, and looking a timer up costs a registry lock.
    private let stageTimers: [String: Timer]
    /// The leader's stages of a send, by `WriteTimeline.Stage`: no string hashed per send.
    private let writeStageTimers: [Timer]
    /// Each request's counter and timer, made once per route and status: made per request,
    /// they cost a registry lookup with label checks each (issue 13). Routes and statuses are
    /// few, so this stays small.
    private let requestMetrics = Mutex<[RouteStatus: (counter: CoreMetrics.Counter, timer: CoreMetrics.Timer)]>([:])

    private struct RouteStatus: Hashable {
        var route: String
        var status: Int
    }
    static let stages = WriteTimeline.Stage.allCases.map(\.name) + [
        "follower_persist", "follower_commit_apply", "long_poll_wake",
    ]

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(5), .seconds(30), .seconds(61),
        ]
        // Stages of a send take from microseconds (authentication) to tens of milliseconds (a
        // quorum under load): finer buckets than whole requests.
        factory.durationHistogramBuckets["chat_write_stage_seconds"] = [
            .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250),
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(5),
        ]
        self.factory = factory
        let stageTimers = Dictionary(uniqueKeysWithValues: Self.stages.map { stage in
            (stage, Timer(label: "chat_write_stage_seconds", dimensions: [("stage", stage)], factory: factory))
        })
        self.stageTimers = stageTimers
        writeStageTimers = WriteTimeline.Stage.allCases.map { stageTimers[$0.name]! }
    }

    /// Counts a request by route and status and records its latency; returns the response.
    func recorded(_ response: HTTPResponse, route: String, since started: ContinuousClock.Instant) -> HTTPResponse {
        let key = RouteStatus(route: route, status: Int(response.status))
        let metrics = requestMetrics.withLock { made in
            if let metrics = made[key] { return metrics }
            let metrics = (
                counter: CoreMetrics.Counter(
                    label: "chat_http_requests_total", dimensions: [("route", route), ("status", String(key.status))],
                    factory: factory),
                timer: Timer(label: "chat_http_request_duration_seconds", dimensions: [("route", route)], factory: factory))
            made[key] = metrics
            return metrics
        }
        metrics.counter.increment()
        metrics.timer.recordInterval(since: started)
        return response
    }

    /// One send's way through the leader, stage by stage (`WriteTimeline`).
    func record(_ timeline: WriteTimeline, answered: ContinuousClock.Instant) {
        timeline.forEachStage(answered: answered) { stage, duration in
            writeStageTimers[stage.rawValue].recordNanoseconds(duration.inNanoseconds)
        }
    }

    /// One stage of a write: on the leader (`WriteTimeline`), on a follower (`follower_persist`,
    /// `follower_commit_apply`), or a long-poll woken by it (`long_poll_wake`).
    func recordStage(_ stage: String, _ duration: Duration) {
        let timer = stageTimers[stage]
            ?? Timer(label: "chat_write_stage_seconds", dimensions: [("stage", stage)], factory: factory)
        timer.recordNanoseconds(duration.inNanoseconds)
    }

    func render(waitingLongPolls: Int, sizes: ChatStateSizes?, status: ClusterStatus) -> [UInt8] {
        Gauge(label: "chat_waiting_long_polls", factory: factory).record(waitingLongPolls)
        if let sizes {
            Gauge(label: "chat_accounts", factory: factory).record(sizes.accounts)
            Gauge(label: "chat_sessions", factory: factory).record(sizes.sessions)
            Gauge(label: "chat_stored_messages", factory: factory).record(sizes.messages)
        }
        Gauge(label: "chat_raft_term", factory: factory).record(status.term)
        Gauge(label: "chat_raft_commit_index", factory: factory).record(status.commitIndex)
        Gauge(label: "chat_raft_applied_index", factory: factory).record(status.appliedIndex)
        Gauge(label: "chat_raft_snapshots_installed", factory: factory).record(status.snapshotsInstalled)
        return registry.emitToBuffer()
    }
}

extension Timer {
    func recordInterval(since started: ContinuousClock.Instant) {
        recordNanoseconds((ContinuousClock.now - started).inNanoseconds)
    }
}

