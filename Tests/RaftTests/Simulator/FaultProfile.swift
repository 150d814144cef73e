@testable import ReplicaCore

/// The faults a simulated run injects, as data: a new kind of fault is a new
/// field here, not a rewrite of the simulator. Probabilities are per message
/// (network faults) or per step (everything else).
struct FaultProfile: Sendable {
    var dropProbability = 0.0
    var duplicateProbability = 0.0
    /// Each message is delayed by 1 + a random 0 ... maxExtraDelaySteps steps,
    /// which also reorders messages.
    var maxExtraDelaySteps = 0
    /// Chance per step to cut the network into two random sides.
    var partitionProbability = 0.0
    /// Fraction of partitions that block only one direction.
    var oneWayPartitionShare = 0.0
    var healProbability = 0.0
    /// Chance per step to crash a random live replica (if a majority stays up
    /// unless `allowMajorityDown`).
    var crashProbability = 0.0
    /// Of the crashes, the share at a replica's next `Ready` while its writes are unflushed,
    /// and the share after it was flushed but before its messages left; the rest happen
    /// between two `Ready`s.
    var crashWhilePersistingShare = 0.0
    var crashBeforeSendingShare = 0.0
    var restartProbability = 0.0
    var allowMajorityDown = false
    /// Each replica ticks at a rate in 1 ± maxTickSkew.
    var maxTickSkew = 0.0
    /// What a crash keeps of the writes not yet flushed (all of them: a process crash;
    /// fewer: a power cut).
    var crashLoss = SimulatedDisk.CrashLoss.nothing

    static let none = FaultProfile()

    /// The mix used by the randomized schedules.
    static func random(using generator: inout SeededGenerator) -> FaultProfile {
        var profile = FaultProfile()
        profile.dropProbability = Double.random(in: 0...0.2, using: &generator)
        profile.duplicateProbability = Double.random(in: 0...0.1, using: &generator)
        profile.maxExtraDelaySteps = Int.random(in: 0...4, using: &generator)
        profile.partitionProbability = Double.random(in: 0...0.05, using: &generator)
        profile.oneWayPartitionShare = 0.3
        profile.healProbability = 0.05
        profile.crashProbability = Double.random(in: 0...0.03, using: &generator)
        profile.crashWhilePersistingShare = 0.35
        profile.crashBeforeSendingShare = 0.2
        profile.restartProbability = Double.random(in: 0.03...0.15, using: &generator)
        profile.allowMajorityDown = Bool.random(using: &generator) && Bool.random(using: &generator)
        profile.maxTickSkew = Double.random(in: 0...0.5, using: &generator)
        profile.crashLoss = [.nothing, .allUnflushed, .randomSuffix, .randomSuffix].randomElement(using: &generator)!
        return profile
    }
}
