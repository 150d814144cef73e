import Testing

/// Multi-process cluster tests run one at a time: each starts several replicas, and running
/// them side by side on a 2-core machine would only measure the machine.
@Suite(.serialized) struct ClusterTests {}
