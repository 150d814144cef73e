#!/usr/bin/env bash
# Lays out a package of ReplicaCore and its fast tests alone (no third-party packages), so that
# the core's tests build in seconds: for `make mutants`, and for quick edit-test loops.
#   scripts/core-package.sh DIR          links the sources (edits in the tree show at once)
#   scripts/core-package.sh DIR --copy   copies them (a scratch copy that may be mutated)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$1"
mode="${2:-}"
mkdir -p "$dir/Sources" "$dir/Tests"
for part in Sources/ReplicaCore Tests/RaftTests Tests/ReplicaCoreTests Tests/ChatTestSupport; do
    rm -rf "${dir:?}/$part"
    if [ "$mode" = "--copy" ]; then
        cp -R "$root/$part" "$dir/$part"
    else
        ln -s "$root/$part" "$dir/$part"
    fi
done
cat > "$dir/Package.swift" <<'SWIFT'
// swift-tools-version: 6.0
// Written by scripts/core-package.sh: ReplicaCore and its fast tests, without the service.
import PackageDescription

let package = Package(
    name: "core",
    targets: [
        .target(name: "ReplicaCore"),
        .target(name: "ChatTestSupport", dependencies: ["ReplicaCore"], path: "Tests/ChatTestSupport"),
        .testTarget(name: "RaftTests", dependencies: ["ReplicaCore"]),
        .testTarget(name: "ReplicaCoreTests", dependencies: ["ReplicaCore", "ChatTestSupport"]),
    ]
)
SWIFT
