// swift-tools-version: 6.0
// Benchmark for the Raft core, kept out of the main package so its build stays lean.
//
// Depends on the main package by path (product `ReplicaCore`). For development
// against another checkout, set RAFT_CORE_PACKAGE_PATH, e.g.
//     RAFT_CORE_PACKAGE_PATH=/work/raftdev swift run -c release
import Foundation
import PackageDescription

let corePath = Context.environment["RAFT_CORE_PACKAGE_PATH"] ?? ".."
// A path dependency's identity is its directory name, lowercased.
let coreIdentity = URL(fileURLWithPath: corePath, relativeTo: URL(fileURLWithPath: Context.packageDirectory + "/"))
    .standardizedFileURL.lastPathComponent.lowercased()

let package = Package(
    name: "RaftBenchmarks",
    dependencies: [
        .package(path: corePath)
    ],
    targets: [
        // Counts heap allocations by interposing malloc/calloc/realloc (glibc).
        .target(name: "AllocationCounter"),
        .executableTarget(
            name: "RaftBenchmark",
            dependencies: [
                "AllocationCounter",
                .product(name: "ReplicaCore", package: coreIdentity),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
