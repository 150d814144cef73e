#!/usr/bin/env python3
"""Mutation testing of ReplicaCore: `make mutants`.

Applies each mutation of Tests/Mutants/mutations.txt, one at a time, to a scratch copy
of the core and its fast tests (laid out by scripts/core-package.sh under .build-mutants/),
rebuilds it incrementally and runs the tests. Prints for each mutation whether it was
caught and by which test, and ends with the line `mutants: K/N caught`. Exit status 0
only if every mutation was caught.

    scripts/mutants.py                      every mutation
    scripts/mutants.py --only NAME[,NAME]   some of them
    scripts/mutants.py --list               names and reasons, each checked against its file
    scripts/mutants.py --tests-from REV     the tests of git revision REV against today's core
    scripts/mutants.py --mutations FILE     another list (to try the tool itself)

The unit tests run first (everything but the `randomSchedules` simulator test); the
simulator runs only for a mutation they missed, because it takes most of the time.
It honours RAFT_SIM_SCHEDULES (total schedule count, 2,000 by default) and RAFT_SIM_BASE_SEED,
which is 0 unless set, so that every run explores the same schedules.
"""

import argparse
import fcntl
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATIONS_FILE = ROOT / "Tests" / "Mutants" / "mutations.txt"
WORK = ROOT / ".build-mutants"
PACKAGE = WORK / "core"
TEST_PARTS = ["Tests/RaftTests", "Tests/ReplicaCoreTests", "Tests/ChatTestSupport"]
SIMULATOR_TEST = "randomSchedules"
SIMULATOR_BATCHES = 40  # the batch count of RandomScheduleTests.swift
SWIFT = os.environ.get("SWIFT", "swift")


@dataclass
class Mutation:
    name: str
    reason: str = ""
    file: str = ""
    old: str | None = None
    new: str | None = None


# MARK: The mutations file


def parse_mutations(path):
    """Blocks of `name:`, `why:`, `file:`, `- old`, `+ new`; `#` starts a comment line."""
    mutations = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("name:"):
            mutations.append(Mutation(name=line[5:].strip()))
            continue
        if not mutations:
            sys.exit(f"{path}:{number}: expected `name:` first")
        current = mutations[-1]
        if line.startswith("why:"):
            current.reason = line[4:].strip()
        elif line.startswith("file:"):
            current.file = line[5:].strip()
        elif line.startswith("-"):
            current.old = line[1:].strip()
        elif line.startswith("+"):
            current.new = line[1:].strip()
        else:
            sys.exit(f"{path}:{number}: unexpected line: {line}")
    names = [m.name for m in mutations]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        sys.exit(f"{path}: duplicate names: {', '.join(sorted(duplicates))}")
    return mutations


def problem_with(mutation, base):
    """Why `mutation` cannot be applied to the sources under `base`, or None."""
    if not mutation.reason or not mutation.file or not mutation.old or mutation.new is None:
        return "incomplete: needs why, file, - old and + new"
    source = base / mutation.file
    if not source.is_file():
        return f"no file {mutation.file}"
    count = source.read_text().count(mutation.old)
    if count != 1:
        return f"old text occurs {count} times in {mutation.file}"
    return None


# MARK: Running commands


def descendants(pid):
    """Every process below `pid`, read from /proc (Linux)."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in children.read_text().split():
                found += [int(child), *descendants(int(child))]
        except OSError:
            pass
    return found


def stop(process):
    # `swift test` starts the test binary in a process group of its own: kill it by pid too.
    for pid in [*descendants(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run(command, cwd, timeout=None, env=None):
    """Runs `command`. Returns (exit code, or None after a timeout, and the output)."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, errors="replace", start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        stop(process)
        output, _ = process.communicate()
        return None, output
    except BaseException:
        stop(process)
        raise


def build():
    code, output = run([SWIFT, "build", "--build-tests"], PACKAGE)
    errors = [line.replace(f"{PACKAGE}/", "") for line in output.splitlines() if "error:" in line]
    return code == 0, errors[:3]


def test_environment():
    env = dict(os.environ)
    # A fixed base keeps the simulator's schedules the same from run to run.
    env.setdefault("RAFT_SIM_BASE_SEED", "0")
    # Older simulators read a per-batch count instead of the total.
    total = env.get("RAFT_SIM_SCHEDULES")
    if total and total.isdigit() and "RAFT_SIM_SCHEDULES_PER_BATCH" not in env:
        env["RAFT_SIM_SCHEDULES_PER_BATCH"] = str(max(1, math.ceil(int(total) / SIMULATOR_BATCHES)))
    return env


ISSUE = re.compile(r"^✘ Test (\w+)\(.*?recorded an issue(?:.*? at (\S+?\.swift):(\d+):\d+:)?")
STARTED = re.compile(r"^◇ Test (\w+)\(.*\) started\.")
FINISHED = re.compile(r"^[✔✘] Test (\w+)\(.* (?:passed|failed) after")


@dataclass
class Outcome:
    passed: bool
    culprit: str = ""  # which test caught it, for the report
    detail: str = ""


def run_tests(selection, timeout):
    """Runs some of the fast tests (UNIT_TESTS or SIMULATOR) and says which test failed."""
    # Line-buffered output (stdbuf, inherited by the test process), so that the lines of a
    # hung test are not lost in a pipe buffer when it is killed.
    command = ["stdbuf", "-oL", "-eL", SWIFT, "test", "--skip-build", *selection]
    started = time.monotonic()
    code, output = run(command, PACKAGE, timeout=timeout, env=test_environment())
    elapsed = time.monotonic() - started
    lines = output.splitlines()
    failed = []  # (test, location), first issue first
    running = []
    fatal = ""
    for line in lines:
        if match := ISSUE.match(line):
            name = match.group(1)
            location = f"{match.group(2)}:{match.group(3)}" if match.group(2) else ""
            if name not in [test for test, _ in failed]:
                failed.append((name, location))
        elif match := STARTED.match(line):
            running.append(match.group(1))
        elif match := FINISHED.match(line):
            if match.group(1) in running:
                running.remove(match.group(1))
        elif "Fatal error:" in line and not fatal:
            fatal = line.split("Fatal error:", 1)[1].strip()
    if code == 0 and not failed:
        return Outcome(True), elapsed
    if failed:
        name, location = failed[0]
        others = len(failed) - 1
        more = f"+{others} more test{'s' if others > 1 else ''}" if others else ""
        return Outcome(False, name, ", ".join(part for part in (location, more) if part)), elapsed
    # No issue recorded: the test process crashed or hung. Blame the test left running.
    during = running[-1] if running else " ".join(selection[-2:])
    if code is None:
        return Outcome(False, f"crash/hang during {during}", f"hang: over {timeout:.0f} s"), elapsed
    signal_line = next((l for l in lines if "signal code" in l), f"exit code {code}")
    return Outcome(False, f"crash/hang during {during}", fatal or signal_line.strip()), elapsed


# One test at a time, so that the test left running when the process dies is the culprit.
UNIT_TESTS = ["--no-parallel", "--skip", SIMULATOR_TEST]
# The simulator's batches run in parallel: it is the slow part.
SIMULATOR = ["--filter", SIMULATOR_TEST]


# MARK: Laying out the scratch copy


def lay_out(tests_from):
    subprocess.run([str(ROOT / "scripts" / "core-package.sh"), str(PACKAGE), "--copy"], check=True)
    if tests_from:
        for part in TEST_PARTS:
            shutil.rmtree(PACKAGE / part)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", tests_from, *TEST_PARTS], capture_output=True)
        if archive.returncode != 0:
            sys.exit(f"mutants: cannot take the tests from {tests_from}: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-C", str(PACKAGE)], input=archive.stdout, check=True)


def check_unmutated():
    """Builds the unmutated copy and runs every fast test once. Returns the two run times."""
    print("building the unmutated scratch copy...", flush=True)
    built, errors = build()
    if not built:
        sys.exit("mutants: the unmutated scratch copy does not build:\n  " + "\n  ".join(errors))
    times = []
    for selection, name in ((UNIT_TESTS, "unit tests"), (SIMULATOR, "simulator")):
        outcome, elapsed = run_tests(selection, timeout=3600)
        if not outcome.passed:
            sys.exit(f"mutants: the {name} fail without any mutation ({outcome.culprit} {outcome.detail}); fix them first")
        times.append(elapsed)
    print(f"unmutated: unit tests {times[0]:.0f} s, simulator {times[1]:.0f} s", flush=True)
    return times


# MARK: One mutation


def try_mutation(mutation, timeouts):
    """Applies `mutation`, builds and tests, restores the file. Returns (status, text)."""
    source = PACKAGE / mutation.file
    original = source.read_text()
    try:
        source.write_text(original.replace(mutation.old, mutation.new, 1))
        built, errors = build()
        if not built:
            return "invalid", "(does not build: " + (errors[0].strip() if errors else "?") + ")"
        for selection, timeout in zip((UNIT_TESTS, SIMULATOR), timeouts):
            outcome, _ = run_tests(selection, timeout)
            if not outcome.passed:
                detail = f" ({outcome.detail})" if outcome.detail else ""
                return "caught", f"by {outcome.culprit}{detail}"
        return "SURVIVED", ""
    finally:
        source.write_text(original)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], metavar="NAME[,NAME]",
                        help="run only these mutations (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutations and check them")
    parser.add_argument("--tests-from", metavar="REV", help="take Tests/ from this git revision")
    parser.add_argument("--mutations", type=Path, default=MUTATIONS_FILE, metavar="FILE", help="the list of mutations")
    args = parser.parse_args()

    mutations = parse_mutations(args.mutations)
    wanted = [name for group in args.only for name in group.split(",") if name]
    if wanted:
        unknown = [name for name in wanted if name not in {m.name for m in mutations}]
        if unknown:
            sys.exit(f"mutants: no mutation named {', '.join(unknown)} (see --list)")
        mutations = [m for m in mutations if m.name in wanted]
    width = max(len(m.name) for m in mutations)

    if args.list:
        for m in mutations:
            problem = problem_with(m, ROOT)
            print(f"{m.name:<{width}}  {m.file}\n{'':<{width}}  {m.reason}" + (f"\n  BROKEN: {problem}" if problem else ""))
        print(f"{len(mutations)} mutations")
        return 0

    WORK.mkdir(exist_ok=True)
    lock = open(WORK / "lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"mutants: another run is using {WORK}")

    started = time.monotonic()
    lay_out(args.tests_from)
    unit_time, simulator_time = check_unmutated()
    # Generous, so that a loaded machine is not mistaken for a hang.
    timeouts = (max(120, 20 * unit_time), max(300, 4 * simulator_time))

    caught = 0
    for m in mutations:
        problem = problem_with(m, PACKAGE)
        status, text = ("BROKEN", f"({problem})") if problem else try_mutation(m, timeouts)
        caught += status == "caught"
        print(f"{status:<8}  {m.name:<{width}}  {text}".rstrip(), flush=True)
    print(f"time: {(time.monotonic() - started) / 60:.1f} min")
    print(f"mutants: {caught}/{len(mutations)} caught")
    return 0 if caught == len(mutations) else 1


if __name__ == "__main__":
    sys.exit(main())
