#!/usr/bin/env python3
"""The driver behind `make bench` and `make bench-smoke` (issue 5).

Starts every process it needs on 127.0.0.1 (the C reference server, chatd replicas, wrk and
chat-bench), runs the scenarios, prints a table, and writes bench/results.json and
BENCHMARKS.md. Every process it starts is killed when it exits, whatever the reason.

Sizes are configurable through environment variables (see CONFIG below); the report states
the sizes that were actually measured.

    python3 bench/run.py --bin-dir .build-release/release          # full run
    python3 bench/run.py --bin-dir .build/debug --smoke            # quick check for `make test`
    python3 bench/run.py --bin-dir ... --only sends,delivery       # some scenarios only
"""
import argparse
import atexit
import bisect
import datetime
import json
import resource
import os
import platform
import shlex
import shutil
import random
import signal
import ssl
import threading
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
SECRET = "bench-cluster-secret"

# Every knob, with the default `make bench` uses; each can be overridden from the environment.
DEFAULTS = {
    "BENCH_SECONDS": 10,                 # each wrk throughput run
    "BENCH_SEND_REPEATS": 3,             # wrk runs per replica count; the median is reported
    "BENCH_CONNECTIONS": 64,             # wrk connections, for chatd and the reference alike
    "BENCH_WRK_THREADS": 1,
    "BENCH_REPLICA_COUNTS": "1,3,5",
    "BENCH_TICK_MS": 50,                 # chatd's default timing everywhere but failover
    "BENCH_ELECTION_TICKS": 10,
    "BENCH_DELIVERY_RATE": 1000,
    "BENCH_DELIVERY_SECONDS": 10,
    "BENCH_DELIVERY_REPEATS": 3,         # delivery runs; the one with the median p50 is reported
    "BENCH_FAILOVER_TRIALS": 20,
    "BENCH_FAILOVER_RATE": 100,          # steady load during failover, sends per second (see BENCHMARKS.md)
    "BENCH_FAILOVER_TICK_MS": 20,        # election timeout = tick x election ticks (randomized up to 2x)
    "BENCH_FAILOVER_ELECTION_TICKS": 10,
    "BENCH_LONGPOLLS": 10000,
    "BENCH_SIZE_MESSAGES": 1000000,      # the issue's size (about 3.5 minutes of filling)
    "BENCH_CATCH_UP_LIMIT_SECONDS": 60,
    "BENCH_SIZE_CONNECTIONS": 64,
    "BENCH_SNAPSHOT_EVERY": 10000,       # chatd's defaults
    "BENCH_RETAINED_ENTRIES": 1000,
    "BENCH_PROFILE": 0,                  # 1: also profile the 3-replica leader with perf (extra run)
    "BENCH_RUNS": 3,                     # whole runs of every scenario; each scenario's median run is reported
}
SMOKE = {
    "BENCH_SECONDS": 1, "BENCH_SEND_REPEATS": 1, "BENCH_REPLICA_COUNTS": "1", "BENCH_DELIVERY_RATE": 100,
    "BENCH_DELIVERY_SECONDS": 1, "BENCH_DELIVERY_REPEATS": 1, "BENCH_FAILOVER_TRIALS": 1, "BENCH_FAILOVER_RATE": 100,
    "BENCH_LONGPOLLS": 100, "BENCH_SIZE_MESSAGES": 300, "BENCH_SNAPSHOT_EVERY": 100,
    "BENCH_RETAINED_ENTRIES": 10, "BENCH_SIZE_CONNECTIONS": 8, "BENCH_CATCH_UP_LIMIT_SECONDS": 10,
    "BENCH_RUNS": 1,
}
SCENARIOS = ["sends", "delivery", "path", "failover", "longpoll", "size"]

CONFIG = {}
COMMANDS = []       # the exact commands run, for the report
PROCESSES = []      # every process started, killed at exit


def log(text):
    print(f"bench: {text}", file=sys.stderr, flush=True)


def kill_everything():
    for process in PROCESSES:
        if process.poll() is None:
            process.kill()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def on_signal(number, frame):
    log(f"signal {number}: stopping every process")
    kill_everything()
    sys.exit(128 + number)


def free_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        return listener.getsockname()[1]


def record(command, note=None):
    text = " ".join(shlex.quote(str(part)) for part in command).replace(str(ROOT) + "/", "")
    entry = f"{note}: {text}" if note else text
    if entry not in COMMANDS:
        COMMANDS.append(entry)


def tls_files():
    """A throwaway CA and per-replica certificates for TLS clusters, made once per run."""
    directory = WORK / "tls"
    if not (directory / "ca.pem").exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "tls-certs.sh"), str(directory), "9"], check=True)
    return directory


TLS_CONTEXT = None


def tls_context():
    global TLS_CONTEXT
    if TLS_CONTEXT is None:
        TLS_CONTEXT = ssl.create_default_context(cafile=str(tls_files() / "ca.pem"))
    return TLS_CONTEXT


def http(method, url, body=None, timeout=2.0, headers=None):
    """(status, parsed JSON or text); status 0 when nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        context = tls_context() if url.startswith("https:") else None
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (OSError, urllib.error.URLError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def disk_bytes(path):
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(directory, name)).st_blocks * 512
            except OSError:
                pass
    return total


class Replica:
    def __init__(self, cluster, replica_id, port, data_dir):
        self.cluster = cluster
        self.id = replica_id
        self.port = port
        self.data_dir = data_dir
        self.process = None
        self.url = f"{cluster.scheme}://127.0.0.1:{port}"
        self.join = None  # URLs to join through (--join) instead of --peers

    def command(self):
        peers = ",".join(f"{r.id}={self.cluster.scheme}://127.0.0.1:{r.port}" for r in self.cluster.replicas)
        entry = (["--join", ",".join(self.join), "--listen", f"127.0.0.1:{self.port}"] if self.join
                 else ["--peers", peers])
        return [
            self.cluster.bin_dir / "chatd", "--id", self.id, *entry, "--data-dir", self.data_dir,
            "--cluster-secret", SECRET, "--tick-ms", self.cluster.tick_ms,
            "--election-ticks", self.cluster.election_ticks,
            "--snapshot-every", CONFIG["BENCH_SNAPSHOT_EVERY"], "--retained-entries", CONFIG["BENCH_RETAINED_ENTRIES"],
            "--insecure-password-rounds", 1000, "--log-level", "warning", "--exit-with-parent",
        ] + self.tls_arguments()

    def tls_arguments(self):
        """Mutual TLS between replicas, each with its own certificate, as `make run TLS=1` does."""
        if not self.cluster.tls:
            return []
        directory = tls_files()
        certificate, key = directory / f"replica-{self.id}.pem", directory / f"replica-{self.id}-key.pem"
        return ["--tls-cert", certificate, "--tls-key", key, "--peer-ca", directory / "ca.pem",
                "--peer-client-cert", certificate, "--peer-client-key", key, "--peer-verify-client"]

    def start(self):
        command = [str(part) for part in self.command()]
        if self.id == 1:
            record(command, f"replica 1 of a {len(self.cluster.replicas)}-replica cluster "
                            "(the others differ only in --id and --data-dir)")
        logfile = open(f"{self.data_dir}.log", "ab")
        self.process = subprocess.Popen(command, stdout=logfile, stderr=logfile, cwd=ROOT)
        PROCESSES.append(self.process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chatd {self.id} exited: {self.recent_log()}")
            if http("GET", self.url + "/healthz", timeout=0.5)[0] == 200:
                return
            time.sleep(0.01)
        raise RuntimeError(f"chatd {self.id} never answered /healthz")

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self):
        return self.process.pid

    def send_signal(self, number):
        if self.running:
            self.process.send_signal(number)

    def stop(self, number=signal.SIGTERM, timeout=15):
        if not self.running:
            return
        self.process.send_signal(number)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def view(self):
        status, body = http("GET", self.url + "/v1/cluster", timeout=1.0)
        return body if status == 200 and isinstance(body, dict) else None

    def recent_log(self):
        try:
            return Path(f"{self.data_dir}.log").read_text(errors="replace")[-1500:]
        except OSError:
            return ""


class Cluster:
    def __init__(self, size, bin_dir, name, tick_ms=None, election_ticks=None, tls=False):
        self.bin_dir = bin_dir
        self.tls = tls
        self.scheme = "https" if tls else "http"
        self.tick_ms = tick_ms or CONFIG["BENCH_TICK_MS"]
        self.election_ticks = election_ticks or CONFIG["BENCH_ELECTION_TICKS"]
        root = WORK / "data" / name
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        self.replicas = []
        for replica_id in range(1, size + 1):
            self.replicas.append(Replica(self, replica_id, free_port(), root / str(replica_id)))

    def start(self, skip=()):
        for replica in self.replicas:
            if replica.id not in skip:
                replica.start()
        return self.wait_leader()

    def stop(self):
        for replica in self.replicas:
            replica.stop()

    def replica(self, replica_id):
        return self.replicas[replica_id - 1]

    def wait_leader(self, timeout=30):
        """The leader every running replica names, once it answers /readyz."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            views = [replica.view() for replica in self.replicas if replica.running]
            leaders = {(view.get("leader") or {}).get("id") for view in views if view}
            if len(views) > 0 and None not in views and len(leaders) == 1 and None not in leaders:
                leader = self.replica(leaders.pop())
                if leader.running and http("GET", leader.url + "/readyz", timeout=1.0)[0] == 200:
                    return leader
            time.sleep(0.01)
        raise RuntimeError("no leader agreed on: " + " | ".join(r.recent_log()[-300:] for r in self.replicas))

    def wait_caught_up(self, replica, timeout=60, poll=0.05):
        """Seconds until `replica` has applied what the leader had committed when we started waiting."""
        start = time.monotonic()
        target = None
        while time.monotonic() - start < timeout:
            if target is None:
                leader = self.wait_leader(timeout=timeout)
                view = leader.view()
                target = view["commit_index"] if view else None
            view = replica.view()
            if target is not None and view and view["applied_index"] >= target:
                return time.monotonic() - start
            time.sleep(poll)
        raise RuntimeError(f"replica {replica.id} did not catch up: {replica.recent_log()}")

    def followers(self, leader):
        return [replica for replica in self.replicas if replica.id != leader.id and replica.running]


def chat_bench(bin_dir, arguments, timeout):
    command = [str(bin_dir / "chat-bench")] + [str(argument) for argument in arguments]
    record(command)
    environment = dict(os.environ, CHAT_CACERT=str(tls_files() / "ca.pem")) if any(
        str(argument).startswith("https:") for argument in arguments) else None
    completed = subprocess.run(command, stdout=subprocess.PIPE, timeout=timeout, cwd=ROOT, env=environment)
    if completed.returncode != 0:
        raise RuntimeError(f"chat-bench {arguments[0]} failed ({completed.returncode})")
    return json.loads(completed.stdout.decode().strip().splitlines()[-1])


def wrk(url, seconds, token="reference", recipient="bob", prefer=""):
    command = [
        "wrk", f"-t{CONFIG['BENCH_WRK_THREADS']}", f"-c{CONFIG['BENCH_CONNECTIONS']}", f"-d{seconds}s",
        "--timeout", "5s", "-s", str(BENCH / "send.lua"), url,
    ]
    record(["CHAT_TOKEN=…", f"CHAT_TO={recipient}"] + ([f"CHAT_PREFER={prefer}"] if prefer else []) + command)
    environment = dict(os.environ, CHAT_TOKEN=token, CHAT_TO=recipient, CHAT_PREFER=prefer)
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=environment,
                               timeout=seconds + 60, cwd=ROOT)
    for line in completed.stdout.decode(errors="replace").splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    raise RuntimeError("wrk printed no result: " + completed.stdout.decode(errors="replace")[-800:])


class Profile:
    """perf samples of one process (cpu-clock: the only event this kind of VM offers) during a block."""

    def __init__(self, pid, name, seconds=5):
        self.pid, self.name, self.seconds = pid, name, seconds
        self.data = WORK / f"perf-{name}.data"
        self.process = None

    def __enter__(self):
        if not shutil.which("perf"):
            log("perf is not installed (apt-get install linux-perf); no profile")
            return self
        command = ["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-p", str(self.pid),
                   "-o", str(self.data), "--", "sleep", str(self.seconds)]
        record(command, "profile")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        PROCESSES.append(self.process)
        return self

    def __exit__(self, *exception):
        if self.process is None:
            return
        self.process.wait(timeout=60)
        report = WORK / f"perf-{self.name}.txt"
        command = (f"perf report -i {self.data} --stdio --no-children --sort dso,symbol --percent-limit 0.7 "
                   f"-g none 2>/dev/null | swift demangle --simplified > {report}")
        subprocess.run(command, shell=True, timeout=300)
        record([command], "profile report")
        log(f"profile written to {report}")


class Reference:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None

    def __enter__(self):
        command = [str(WORK / "reference"), str(self.port)]
        record(command, "reference server")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        PROCESSES.append(self.process)
        deadline = time.monotonic() + 10
        while http("POST", self.url + "/v1/messages", {"to": "bob", "body": "x"}, timeout=0.5)[0] != 201:
            if time.monotonic() > deadline:
                raise RuntimeError("the reference server did not start")
            time.sleep(0.02)
        return self

    def measure(self, seconds):
        return wrk(self.url, seconds)

    def __exit__(self, *exception):
        self.process.terminate()
        self.process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------
# Scenarios. Each returns a dict that goes into results.json under its name.

def median_run(runs, key):
    """The run in the middle when ordered by `key` (the upper middle of an even count)."""
    return sorted(runs, key=key)[len(runs) // 2]


def headline(name, result):
    """The figure a scenario's runs are ordered by to pick the median run (None sorts last)."""
    try:
        if name == "sends":
            replicas = result["replicas"]
            return replicas.get("3", next(iter(replicas.values())))["ok_per_second"]
        if name == "delivery":
            return result["delivery_latency_us"]["p50"] / 1000
        if name == "path":
            return result["saturation"]["sends"]
        if name == "failover":
            return result["summary"]["kill -9"]["p50_ms"]
        if name == "longpoll":
            return result["bytes_per_connection_peak"] / 1024
        if name == "size":
            return max(h["rss_kib"] or 0 for h in result["holding"].values()) / 1024
    except (KeyError, TypeError, StopIteration):
        return None
    return None


HEADLINE_NAMES = {
    "sends": "committed sends/s, 3 replicas (else the first size run)", "delivery": "delivery p50 ms", "path": "sends in the saturation run",
    "failover": "kill -9 p50 ms", "longpoll": "KiB per long-poll at peak", "size": "RSS MiB holding the messages",
}


def median_of_runs(name, runs):
    """The run with the median headline figure, carrying every run's headline for the report."""
    measured = [run for run in runs if headline(name, run) is not None]
    chosen = median_run(measured, key=lambda run: headline(name, run)) if measured else runs[len(runs) // 2]
    chosen = dict(chosen)
    chosen["runs_headline"] = {"figure": HEADLINE_NAMES[name], "values": [headline(name, run) for run in runs]}
    return chosen


def scenario_sends(bin_dir, reference):
    seconds = CONFIG["BENCH_SECONDS"]
    references = [reference.measure(seconds)]
    log(f"reference: {references[0]['requests_per_second']:.0f} requests/s")
    runs = {}
    for size in [int(n) for n in str(CONFIG["BENCH_REPLICA_COUNTS"]).split(",")]:
        cluster = Cluster(size, bin_dir, f"sends-{size}")
        try:
            leader = cluster.start()
            result, token, recipient = leader_sends(bin_dir, leader, seconds)
            result["leader_rss_kib"] = rss_kib(leader.pid)
            if size == 3:
                # The same cluster, sends at a follower that forwards them (Prefer: forward).
                follower = cluster.followers(leader)[0]
                wrk(follower.url, 2, token, recipient, prefer="forward")  # warm-up, not recorded
                forwarded = [wrk(follower.url, seconds, token, recipient, prefer="forward")
                             for _ in range(max(1, CONFIG["BENCH_SEND_REPEATS"]))]
                result["forwarded"] = median_run(forwarded, key=lambda run: run["ok_per_second"])
                result["forwarded"]["repeats_ok_per_second"] = [round(run["ok_per_second"], 1) for run in forwarded]
                log(f"3 replicas, at a follower with Prefer: forward: {result['forwarded']['ok_per_second']:.0f} committed sends/s")
            runs[str(size)] = result
            if CONFIG["BENCH_PROFILE"] and size == 3:
                with Profile(leader.pid, f"sends-{size}"):
                    wrk(leader.url, 6, token, recipient)
            log(f"{size} replica(s): {result['ok_per_second']:.0f} committed sends/s, "
                f"p99 {result['latency_us']['p99'] / 1000:.1f} ms, failures {result['failures']}")
        finally:
            cluster.stop()
        if size == 3:
            runs[str(size)]["tls"] = tls_sends(bin_dir, seconds)
    references.append(reference.measure(seconds))
    reference_rps = statistics.mean(r["requests_per_second"] for r in references)
    for result in runs.values():
        result["ratio_to_reference"] = round(result["ok_per_second"] / reference_rps, 4)
    return {"reference_runs": references, "reference_requests_per_second": round(reference_rps, 1),
            "replicas": runs, "seconds": seconds, "connections": CONFIG["BENCH_CONNECTIONS"]}


def leader_sends(bin_dir, leader, seconds):
    """Sets up a sender and recipients, warms up, then runs wrk at the leader several times (the
    machine is noisy): the median run, with every run's rate, and the sender's token and recipient."""
    users = chat_bench(bin_dir, ["setup", "--url", leader.url], timeout=120)
    token, recipient = users["sender"]["token"], users["recipients"][0]["username"]
    wrk(leader.url, 2, token, recipient)  # warm-up, not recorded
    repeats = [wrk(leader.url, seconds, token, recipient) for _ in range(max(1, CONFIG["BENCH_SEND_REPEATS"]))]
    result = median_run(repeats, key=lambda run: run["ok_per_second"])
    result["repeats_ok_per_second"] = [round(run["ok_per_second"], 1) for run in repeats]
    return result, token, recipient


def tls_sends(bin_dir, seconds):
    """Committed sends/s at the leader of a 3-replica cluster with HTTPS and mutual TLS between
    replicas, measured like the plain figure it stands beside."""
    cluster = Cluster(3, bin_dir, "sends-3-tls", tls=True)
    try:
        result, _, _ = leader_sends(bin_dir, cluster.start(), seconds)
        log(f"3 replicas over TLS: {result['ok_per_second']:.0f} committed sends/s, "
            f"p99 {result['latency_us']['p99'] / 1000:.1f} ms, failures {result['failures']}")
        return result
    finally:
        cluster.stop()


def scenario_delivery(bin_dir, reference):
    # Plain delivery is driven by chat-bench's threaded client; the same runs through its
    # AsyncHTTPClient one (interleaved on the same cluster) show what the load generator's own
    # CPU adds on this two-core machine, and are what the TLS runs are compared with.
    result = delivery_runs(bin_dir, tls=False, clients=["threads", "nio"])
    result["tls"] = delivery_runs(bin_dir, tls=True, clients=["nio"])
    return result


def delivery_runs(bin_dir, tls, clients):
    cluster = Cluster(3, bin_dir, "delivery-tls" if tls else "delivery", tls=tls)
    try:
        leader = cluster.start()
        follower = cluster.followers(leader)[0]
        repeats = {client: [] for client in clients}
        for _ in range(max(1, CONFIG["BENCH_DELIVERY_REPEATS"])):
            for client in clients:
                repeats[client].append(chat_bench(bin_dir, [
                    "delivery", "--send-url", leader.url, "--poll-url", follower.url, "--client", client,
                    "--rate", CONFIG["BENCH_DELIVERY_RATE"], "--duration", CONFIG["BENCH_DELIVERY_SECONDS"],
                ], timeout=CONFIG["BENCH_DELIVERY_SECONDS"] + 180))
        results = []
        for client in clients:
            result = median_run(repeats[client], key=lambda run: run["delivery_latency_us"]["p50"])
            result["repeats_latency_us"] = [
                {"p50": run["delivery_latency_us"]["p50"], "p99": run["delivery_latency_us"]["p99"]} for run in repeats[client]]
            latency = result["delivery_latency_us"]
            log(f"delivery{' over TLS' if tls else ''} at {CONFIG['BENCH_DELIVERY_RATE']}/s, {client} client: "
                f"p50 {latency['p50'] / 1000:.2f} ms, p99 {latency['p99'] / 1000:.2f} ms, received {result['received']} of {result['send']['ok']}")
            results.append(result)
        for other in results[1:]:
            results[0][other["client"]] = other
        return results[0]
    finally:
        cluster.stop()


STAGES_LEADER = ["authenticate", "validate", "to_driver", "leader_persist", "quorum", "apply", "resume_handler", "total"]
STAGES_FOLLOWER = ["follower_persist", "follower_commit_apply", "long_poll_wake"]
PERF_EVENTS = {
    "syscalls": "raw_syscalls:sys_enter", "context switches": "context-switches",
    "futex": "syscalls:sys_enter_futex", "epoll_wait": "syscalls:sys_enter_epoll_wait",
    "write": "syscalls:sys_enter_write", "writev": "syscalls:sys_enter_writev",
    "sendmsg": "syscalls:sys_enter_sendmsg", "read": "syscalls:sys_enter_read",
    "recvfrom": "syscalls:sys_enter_recvfrom", "fsync+fdatasync": "syscalls:sys_enter_fdatasync",
    "pwrite64": "syscalls:sys_enter_pwrite64",
}


def stage_totals(replica):
    """{stage: (count, sum in seconds)} of chat_write_stage_seconds in the replica's /metrics."""
    status, text = http("GET", replica.url + "/metrics", timeout=5.0)
    totals = {}
    if status != 200 or not isinstance(text, str):
        return totals
    for line in text.splitlines():
        for suffix in ("_count", "_sum"):
            prefix = f"chat_write_stage_seconds{suffix}{{stage=\""
            if line.startswith(prefix):
                stage = line[len(prefix):].split('"', 1)[0]
                count, total = totals.get(stage, (0.0, 0.0))
                value = float(line.rsplit(" ", 1)[1])
                totals[stage] = (value, total) if suffix == "_count" else (count, value)
    return totals


def stage_means(before, after, stages):
    """Mean microseconds per stage between two `stage_totals`, with how many were timed."""
    means = {}
    for stage in stages:
        count = after.get(stage, (0, 0))[0] - before.get(stage, (0, 0))[0]
        total = after.get(stage, (0, 0))[1] - before.get(stage, (0, 0))[1]
        if count > 0:
            means[stage] = {"count": int(count), "mean_us": round(total / count * 1e6, 1)}
    return means


class SystemCalls:
    """Counts a process's system calls and context switches during a block (perf stat, tracepoints)."""

    def __init__(self, pid, name):
        self.pid, self.output = pid, WORK / f"perf-stat-{name}.csv"
        self.counts = None
        self.cpu_seconds = None

    def __enter__(self):
        self.process = None
        self.cpu_started = process_cpu_seconds(self.pid)
        if shutil.which("perf"):
            events = ",".join(PERF_EVENTS.values())
            command = ["perf", "stat", "-x", ",", "-e", events, "-p", str(self.pid), "-o", str(self.output)]
            record(command, "system calls and context switches (bench/run.py, scenario path)")
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.3)  # perf attaches to every thread before the load starts
        return self

    def __exit__(self, *exception):
        ended = process_cpu_seconds(self.pid)
        if ended is not None and self.cpu_started is not None:
            self.cpu_seconds = ended - self.cpu_started
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
            text = self.output.read_text()
        except (OSError, subprocess.TimeoutExpired):
            return  # perf could not attach here (permissions, no tracepoints): not measured
        by_event = {}
        for line in text.splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].strip().isdigit():
                by_event[fields[2]] = int(fields[0])
        names = {event: name for name, event in PERF_EVENTS.items()}
        self.counts = {names[event]: count for event, count in by_event.items() if event in names}


def process_cpu_seconds(pid):
    """User and system CPU time the process has used, all threads (/proc/<pid>/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def per_send(measured, sends):
    if not sends:
        return None
    counts = {name: round(count / sends, 2) for name, count in (measured.counts or {}).items()}
    if measured.cpu_seconds is not None:
        counts["cpu_us"] = round(measured.cpu_seconds * 1e6 / sends, 1)
    return counts


def scenario_path(bin_dir, reference):
    """Where a send goes on 3 replicas: stage means from /metrics, and system calls and context
    switches per committed send on the leader and a follower, at saturation and at 1,000/s."""
    cluster = Cluster(3, bin_dir, "path")
    result = {}
    try:
        leader = cluster.start()
        follower = cluster.followers(leader)[0]
        users = chat_bench(bin_dir, ["setup", "--url", leader.url], timeout=120)
        token, recipient = users["sender"]["token"], users["recipients"][0]["username"]
        wrk(leader.url, 2, token, recipient)  # warm-up, not recorded
        loads = {
            "saturation": lambda: wrk(leader.url, CONFIG["BENCH_SECONDS"], token, recipient),
            "1000/s": lambda: chat_bench(bin_dir, [
                "delivery", "--send-url", leader.url, "--poll-url", follower.url,
                "--rate", 1000, "--duration", CONFIG["BENCH_DELIVERY_SECONDS"],
            ], timeout=CONFIG["BENCH_DELIVERY_SECONDS"] + 180),
        }
        for name, load in loads.items():
            before = {"leader": stage_totals(leader), "follower": stage_totals(follower)}
            with SystemCalls(leader.pid, f"leader-{name.replace('/', '-')}") as on_leader, \
                    SystemCalls(follower.pid, f"follower-{name.replace('/', '-')}") as on_follower:
                children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
                outcome = load()
                children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            sends = outcome["ok"] if "ok" in outcome else outcome["send"]["ok"]
            result[name] = {
                "sends": sends,
                "stages_leader": stage_means(before["leader"], stage_totals(leader), STAGES_LEADER),
                "stages_follower": stage_means(before["follower"], stage_totals(follower), STAGES_FOLLOWER),
                "per_send_leader": per_send(on_leader, sends),
                "per_send_follower": per_send(on_follower, sends),
            }
            # The load generator (wrk or chat-bench) shares the two cores with the replicas.
            load_seconds = (children_after.ru_utime + children_after.ru_stime
                            - children_before.ru_utime - children_before.ru_stime)
            result[name]["load_generator_cpu_us"] = round(load_seconds * 1e6 / max(sends, 1), 1)
            if "delivery_latency_us" in outcome:
                latency = outcome["delivery_latency_us"]
                result[name]["delivery_ms"] = {"p50": latency["p50"] / 1000, "p99": latency["p99"] / 1000}
            log(f"path at {name}: {sends} sends; leader per send {result[name]['per_send_leader']}")
        return result
    finally:
        cluster.stop()


def scenario_failover(bin_dir, reference):
    cluster = Cluster(3, bin_dir, "failover", tick_ms=CONFIG["BENCH_FAILOVER_TICK_MS"],
                      election_ticks=CONFIG["BENCH_FAILOVER_ELECTION_TICKS"])
    stop_file = WORK / "failover.stop"
    ack_log = WORK / "failover.acks"
    for path in (stop_file, ack_log):
        path.unlink(missing_ok=True)
    trials = []
    errors = []
    load = None
    try:
        cluster.start()
        command = [
            str(bin_dir / "chat-bench"), "send", "--urls", ",".join(r.url for r in cluster.replicas),
            "--connections", 16, "--rate", CONFIG["BENCH_FAILOVER_RATE"], "--timeout-ms", 1000,
            "--stop-file", stop_file, "--ack-log", ack_log,
        ]
        command = [str(part) for part in command]
        record(command, "steady load during failover")
        load = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT)
        PROCESSES.append(load)
        time.sleep(3)
        for name, number in (("kill -9", signal.SIGKILL), ("SIGTERM", signal.SIGTERM)):
            for trial in range(CONFIG["BENCH_FAILOVER_TRIALS"]):
                try:
                    leader = cluster.wait_leader()
                    for replica in cluster.replicas:
                        cluster.wait_caught_up(replica, timeout=30)
                    time.sleep(0.5)
                    killed_at = time.monotonic_ns()
                    leader.send_signal(number)
                    leader.process.wait(timeout=15)
                    new_leader = cluster.wait_leader()
                    trials.append({"signal": name, "killed": leader.id, "new_leader": new_leader.id,
                                   "killed_at_ns": killed_at})
                    time.sleep(0.3)
                    leader.start()
                    log(f"failover trial {name} #{trial + 1}: replica {leader.id} -> {new_leader.id}")
                except RuntimeError as error:
                    # A cluster that cannot heal between trials is itself a finding: record it, go on.
                    errors.append(f"{name} trial {trial + 1}: {str(error)[:300]}")
                    log(f"failover trial {name} #{trial + 1} failed: {str(error)[:300]}")
                    break
        time.sleep(1)
    finally:
        stop_file.touch()
        output = None
        if load is not None:
            try:
                output, _ = load.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                load.kill()
        cluster.stop()
    load_result = json.loads(output.decode().strip().splitlines()[-1]) if output else None
    acknowledgements = []
    for line in ack_log.read_text().splitlines():
        start, acknowledged = line.split()
        acknowledgements.append((int(acknowledged), int(start)))
    acknowledgements.sort()
    acknowledged_times = [a for a, _ in acknowledgements]
    for trial in trials:
        # The first write both started and acknowledged after the signal.
        index = bisect.bisect_left(acknowledged_times, trial["killed_at_ns"])
        gap = None
        for acknowledged, start in acknowledgements[index:]:
            if start >= trial["killed_at_ns"]:
                gap = (acknowledged - trial["killed_at_ns"]) / 1e6
                break
        trial["ms_to_next_acknowledged_write"] = None if gap is None else round(gap, 1)
        del trial["killed_at_ns"]
    intervals = [b - a for a, b in zip(acknowledged_times, acknowledged_times[1:])]
    summary = {}
    for name in ("kill -9", "SIGTERM"):
        gaps = [t["ms_to_next_acknowledged_write"] for t in trials if t["signal"] == name]
        measured = [g for g in gaps if g is not None]
        summary[name] = {
            "trials": len(gaps), "measured": len(measured),
            "p50_ms": round(statistics.median(measured), 1) if measured else None,
            "max_ms": max(measured) if measured else None,
            "min_ms": min(measured) if measured else None,
        }
        log(f"failover {name}: {summary[name]}")
    return {"summary": summary, "trials": trials, "errors": errors, "load": load_result,
            "median_ms_between_acknowledgements": round(statistics.median(intervals) / 1e6, 2) if intervals else None,
            "tick_ms": CONFIG["BENCH_FAILOVER_TICK_MS"], "election_ticks": CONFIG["BENCH_FAILOVER_ELECTION_TICKS"],
            "rate": CONFIG["BENCH_FAILOVER_RATE"]}


def scenario_longpoll(bin_dir, reference):
    cluster = Cluster(1, bin_dir, "longpoll")
    try:
        replica = cluster.start()
        result = chat_bench(bin_dir, [
            "longpoll", "--url", replica.url, "--pid", replica.pid, "--count", CONFIG["BENCH_LONGPOLLS"],
        ], timeout=600)
        log(f"long-polls: {result['waiting_seen']} waiting, {result['bytes_per_connection_peak']} B per connection "
            f"at peak, all woken in {result['seconds_to_wake_all']} s")
        return result
    finally:
        cluster.stop()


class SteadyWriter(threading.Thread):
    """One client sending one message at a time to the leader (following its 307s), recording
    when each send was acknowledged: the longest gap between two acknowledgements is how long
    writes stalled."""

    def __init__(self, cluster, token):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.token = token
        self.acknowledged = []
        self.stopping = threading.Event()

    def run(self):
        url = self.cluster.replicas[0].url
        number = 0
        while not self.stopping.is_set():
            number += 1
            status, body = http("POST", url + "/v1/messages", {"to": "writer", "body": f"w{number}"}, timeout=5,
                                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": f"w{number}"})
            if status == 201:
                self.acknowledged.append(time.monotonic())
            elif status == 307 and isinstance(body, dict) and (body.get("error") or {}).get("leader"):
                url = body["error"]["leader"]["url"]
                number -= 1
            else:
                number -= 1
                url = random.choice([r for r in self.cluster.replicas if r.running]).url
                time.sleep(0.01)

    def longest_gap(self, start, end):
        times = [t for t in self.acknowledged if start <= t <= end]
        points = [start] + times + [end]
        return max(b - a for a, b in zip(points, points[1:])), len(times)


def scenario_size(bin_dir, reference):
    count = CONFIG["BENCH_SIZE_MESSAGES"]
    cluster = Cluster(3, bin_dir, "size")
    try:
        leader = cluster.start()
        log(f"filling a 3-replica cluster with {count} messages")
        fill = chat_bench(bin_dir, [
            "send", "--urls", leader.url, "--connections", CONFIG["BENCH_SIZE_CONNECTIONS"], "--count", count,
            "--recipients", 100, "--timeout-ms", 30000,
        ], timeout=7200)
        log(f"filled at {fill['result']['ok_per_second']:.0f} sends/s")
        leader = cluster.wait_leader()
        other = cluster.followers(leader)[0]
        cluster.wait_caught_up(other, timeout=300)
        time.sleep(2)
        holding = {str(r.id): {"role": "leader" if r is leader else "follower", "rss_kib": rss_kib(r.pid),
                               "disk_bytes": disk_bytes(r.data_dir)} for r in (leader, other)}

        # A new replica joins (`chatd --join`) under a steady stream of writes: it is added as a
        # learner, catches up through a state file, and asks to be promoted to voter.
        http("POST", leader.url + "/v1/accounts", {"username": "writer", "password": "password123"})
        _, session = http("POST", leader.url + "/v1/sessions", {"username": "writer", "password": "password123"})
        writer = SteadyWriter(cluster, session["token"])
        writer.start()
        time.sleep(1)
        fresh = Replica(cluster, 4, free_port(), cluster.replicas[0].data_dir.parent / "4")
        fresh.join = [r.url for r in cluster.replicas]
        cluster.replicas.append(fresh)
        join_started = time.monotonic()
        fresh.start()
        record([str(part) for part in fresh.command()], "the replica that joins")
        catch_up_limit = CONFIG["BENCH_CATCH_UP_LIMIT_SECONDS"]
        try:
            catch_up_seconds = cluster.wait_caught_up(fresh, timeout=catch_up_limit, poll=0.02)
            catch_up_error = None
        except RuntimeError:
            catch_up_seconds = None
            catch_up_error = f"not caught up after {catch_up_limit} s"
        promoted_seconds = None
        while time.monotonic() - join_started < catch_up_limit:
            view = cluster.wait_leader().view() or {}
            if any(m.get("id") == 4 and m.get("role") == "voter" for m in view.get("members", [])):
                promoted_seconds = time.monotonic() - join_started
                break
            time.sleep(0.02)
        time.sleep(1)
        change_end = time.monotonic()
        writer.stopping.set()
        writer.join(timeout=10)
        gap, writes = writer.longest_gap(join_started, change_end)
        fresh_view = fresh.view() or {}
        _, metrics = http("GET", fresh.url + "/metrics")
        snapshots = None
        if isinstance(metrics, str):
            for line in metrics.splitlines():
                if line.startswith("chat_raft_snapshots_installed"):
                    snapshots = int(float(line.split()[-1]))
        log(f"joining replica: caught up in {catch_up_seconds} s, error {catch_up_error}, promoted after "
            f"{promoted_seconds} s, applied {fresh_view.get('applied_index')}, {snapshots} snapshot(s) installed; "
            f"longest gap between acknowledged writes {gap * 1000:.0f} ms over {writes} writes")

        other.stop()
        started = time.monotonic()
        other.start()
        while http("GET", other.url + "/readyz", timeout=1.0)[0] != 200:
            if time.monotonic() - started > 300:
                raise RuntimeError("the restarted replica never became ready")
            time.sleep(0.01)
        restart_seconds = time.monotonic() - started
        time.sleep(2)
        restarted_rss = rss_kib(other.pid)
        log(f"restart to ready: {restart_seconds:.2f} s, RSS after restart {restarted_rss} KiB")
        return {"messages": count, "fill": fill["result"], "holding": holding,
                "catch_up_seconds": None if catch_up_seconds is None else round(catch_up_seconds, 3),
                "join_and_promote_seconds": None if promoted_seconds is None else round(promoted_seconds, 3),
                "longest_write_gap_during_join_ms": round(gap * 1000, 1), "writes_during_join": writes,
                "catch_up_error": catch_up_error, "leader_commit_index": (leader.view() or {}).get("commit_index"),
                "snapshots_installed_by_fresh_replica": snapshots,
                "fresh_replica_applied_index": fresh_view.get("applied_index"),
                "restart_to_ready_seconds": round(restart_seconds, 3), "restarted_replica_id": other.id,
                "restarted_rss_kib": restarted_rss, "fresh_rss_kib": rss_kib(fresh.pid)}
    finally:
        cluster.stop()


# ---------------------------------------------------------------------------------------------
# Targets, table and report.

def targets(results):
    rows = []

    def add(figure, value, target, met, unit=""):
        rows.append({"figure": figure, "measured": value, "target": target, "met": met, "unit": unit})

    sends = results.get("sends")
    if sends:
        for size, run in sends["replicas"].items():
            ratio = run["ratio_to_reference"]
            add(f"1. committed sends/s, {size} replica(s)",
                f"{run['ok_per_second']:.0f}/s ({ratio:.3f} x reference); p50/p99/p99.9 "
                f"{run['latency_us']['p50'] / 1000:.1f}/{run['latency_us']['p99'] / 1000:.1f}/"
                f"{run['latency_us']['p999'] / 1000:.1f} ms",
                ">= 0.20 x reference" if size == "3" else "(reported)",
                ratio >= 0.20 if size == "3" else None)
            forwarded = run.get("forwarded")
            if forwarded:
                add(f"1. committed sends/s at a follower with Prefer: forward, {size} replicas",
                    f"{forwarded['ok_per_second']:.0f}/s; p50/p99 {forwarded['latency_us']['p50'] / 1000:.1f}/"
                    f"{forwarded['latency_us']['p99'] / 1000:.1f} ms", "(reported)", None)
            over_tls = run.get("tls")
            if over_tls:
                add(f"12. committed sends/s over TLS (HTTPS, mutual TLS between replicas), {size} replicas",
                    f"{over_tls['ok_per_second']:.0f}/s (plain: {run['ok_per_second']:.0f}/s); p50/p99 "
                    f"{over_tls['latency_us']['p50'] / 1000:.1f}/{over_tls['latency_us']['p99'] / 1000:.1f} ms",
                    "(reported)", None)
    delivery = results.get("delivery")
    if delivery:
        latency = delivery["delivery_latency_us"]
        add("2. delivery p50 (send start -> follower long-poll)", f"{latency['p50'] / 1000:.2f} ms", "<= 2 ms",
            latency["p50"] <= 2000)
        add("2. delivery p99", f"{latency['p99'] / 1000:.2f} ms", "<= 10 ms", latency["p99"] <= 10000)
        over_tls = delivery.get("tls")
        if over_tls:
            tls_latency = over_tls["delivery_latency_us"]
            # Both through AsyncHTTPClient, when the plain runs have such a client's figures too.
            plain = delivery.get("nio", {}).get("delivery_latency_us", latency)
            add("12. delivery p50/p99 over TLS",
                f"{tls_latency['p50'] / 1000:.2f}/{tls_latency['p99'] / 1000:.2f} ms "
                f"(plain: {plain['p50'] / 1000:.2f}/{plain['p99'] / 1000:.2f} ms)", "(reported)", None)
    failover = results.get("failover")
    if failover:
        wanted = CONFIG["BENCH_FAILOVER_TRIALS"]

        def figure(summary, key, limit):
            complete = summary["measured"] == wanted
            note = "" if complete else f" (only {summary['measured']} of {wanted} trials completed)"
            value = summary[key]
            return f"{value} ms{note}", complete and value is not None and value <= limit

        kill = failover["summary"]["kill -9"]
        term = failover["summary"]["SIGTERM"]
        value, met = figure(kill, "p50_ms", 300)
        add("3. kill -9 leader: p50 to next acknowledged write", value, "<= 300 ms", met)
        value, met = figure(kill, "max_ms", 1000)
        add("3. kill -9 leader: max", value, "<= 1000 ms", met)
        value, met = figure(term, "p50_ms", 50)
        add("3. SIGTERM leader (transfer): p50", value, "<= 50 ms", met)
    longpoll = results.get("longpoll")
    if longpoll:
        peak = longpoll["bytes_per_connection_peak"]
        add(f"4. RSS per waiting long-poll at peak ({longpoll['waiting_seen']} waiting)",
            f"{peak / 1024:.1f} KiB (waiting {longpoll['bytes_per_connection_waiting'] / 1024:.1f} KiB)",
            "<= 10 KiB", peak <= 10 * 1024 and longpoll["waiting_seen"] >= longpoll["count"])
        add(f"4. time to wake all {longpoll['count']}", f"{longpoll['seconds_to_wake_all'] * 1000:.0f} ms",
            "(reported)", None)
    size = results.get("size")
    if size:
        rss = max(h["rss_kib"] or 0 for h in size["holding"].values())
        full = size["messages"] >= 1_000_000
        note = "" if full else f" (only {size['messages']} messages measured)"
        def scaled(within):
            # Below the issue's size only a miss is conclusive: these figures grow with the state.
            return within if full or not within else None

        add(f"5. RSS of a replica holding {size['messages']} messages", f"{rss / 1024:.1f} MiB{note}", "<= 100 MiB",
            scaled(rss <= 100 * 1024))
        disk = max(h["disk_bytes"] for h in size["holding"].values())
        add("5. disk of that replica", f"{disk / 2**20:.1f} MiB", "(reported)", None)
        add("5. restart to ready", f"{size['restart_to_ready_seconds']:.2f} s{note}", "<= 3 s",
            scaled(size["restart_to_ready_seconds"] <= 3))
        if size["catch_up_seconds"] is None:
            add("5. joining replica catch-up through a snapshot", f"{size['catch_up_error']}{note}", "<= 10 s", False)
        else:
            add("5. joining replica catch-up through a snapshot", f"{size['catch_up_seconds']:.2f} s{note}", "<= 10 s",
                scaled(size["catch_up_seconds"] <= 10))
        promoted = size.get("join_and_promote_seconds")
        add("10. join and promotion of a new replica", "not promoted" if promoted is None else f"{promoted:.2f} s{note}",
            "(reported)", None)
        if "longest_write_gap_during_join_ms" in size:
            add("10. longest gap between acknowledged writes during the change",
                f"{size['longest_write_gap_during_join_ms']:.0f} ms ({size['writes_during_join']} writes)",
                "(reported)", None)
    return rows


def render_path(path):
    loads = [load for load, value in path.items() if isinstance(value, dict) and "sends" in value]
    lines = [
        "",
        "### 6. Where a send goes (3 replicas, sends at the leader)",
        "",
        "Mean time per stage, from `chat_write_stage_seconds` in each replica's `/metrics` over the load "
        "(saturation: one wrk run; 1000/s: one delivery run with long-polls at a follower). Leader stages are "
        "measured from the request reaching the API; `leader_persist` and `quorum` both start when the entry is "
        "proposed (the leader sends its appends while it writes).",
        "",
        "| Stage | " + " | ".join(f"{load} µs" for load in loads) + " |",
        "| --- | " + " | ".join("---" for _ in loads) + " |",
    ]
    for side, stages in (("stages_leader", STAGES_LEADER), ("stages_follower", STAGES_FOLLOWER)):
        for stage in stages:
            cells = [path[load][side].get(stage) for load in loads]
            if any(cells):
                lines.append(f"| {stage} | " + " | ".join(f"{cell['mean_us']:.0f}" if cell else "-" for cell in cells) + " |")
    lines += [
        "",
        "CPU time (`cpu_us`, all threads, from /proc), system calls and context switches per committed send "
        "(`perf stat` on each process, all threads; a context switch is a thread that blocked and was woken, "
        "the measure of hand-offs):",
        "",
        "| Per send | " + " | ".join(f"leader, {load} | follower, {load}" for load in loads) + " |",
        "| --- | " + " | ".join("--- | ---" for _ in loads) + " |",
    ]
    names = [name for name in ["cpu_us", *PERF_EVENTS] if any((path[load].get(side) or {}).get(name) is not None
                                                 for load in loads for side in ("per_send_leader", "per_send_follower"))]
    if not names:
        lines.append("| (not measured: perf is missing) | " + " | ".join("- | -" for _ in loads) + " |")
    for name in names:
        cells = []
        for load in loads:
            for side in ("per_send_leader", "per_send_follower"):
                value = (path[load].get(side) or {}).get(name)
                cells.append("-" if value is None else f"{value:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Sends measured: " + ", ".join(f"{load} {path[load]['sends']}" for load in loads) + ".")
    if all("load_generator_cpu_us" in path[load] for load in loads):
        lines.append("CPU of the load generator on the same two cores (wrk at saturation, chat-bench at 1,000/s), per send: "
                     + ", ".join(f"{load} {path[load]['load_generator_cpu_us']:.0f} µs" for load in loads) + ".")
    for load in loads:
        if path[load].get("delivery_ms"):
            delivery = path[load]["delivery_ms"]
            lines.append(f"Delivery latency in the {load} run (send start to receipt by a long-poll at the follower): "
                         f"p50 {delivery['p50']:.2f} ms, p99 {delivery['p99']:.2f} ms.")
    return lines


def verdict(row):
    if row["target"] == "(reported)":
        return "-"
    return {True: "met", False: "MISSED", None: "not comparable"}[row["met"]]


def table(rows):
    widths = [max(len(r["figure"]) for r in rows), max(len(r["measured"]) for r in rows),
              max(len(r["target"]) for r in rows)]
    lines = []
    for row in rows:
        lines.append(f"{row['figure']:<{widths[0]}}  {row['measured']:<{widths[1]}}  "
                     f"{row['target']:<{widths[2]}}  {verdict(row)}")
    return "\n".join(lines)


def command_output(command):
    try:
        return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                              shell=isinstance(command, str)).stdout.decode(errors="replace").strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def machine():
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
        "memory_gib": round(int(memory) / 2**20, 1),
        "swift": command_output(["swift", "--version"]).splitlines()[0] if shutil.which("swift") else "unknown",
        "libmicrohttpd": command_output("pkg-config --modversion libmicrohttpd"),
        "wrk": command_output("dpkg-query -W -f='${Version}' wrk"),
        "filesystem": command_output(f"df -T {WORK} | tail -1 | awk '{{print $2}}'"),
        "load_average": Path("/proc/loadavg").read_text().split()[:3],
        "busiest_processes": command_output("ps -eo pcpu,comm --sort=-pcpu | sed -n 2,4p | tr -s ' '").splitlines(),
        "git_commit": command_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        + (" (with uncommitted changes)" if command_output(["git", "-C", str(ROOT), "status", "--porcelain"]) else ""),
    }


def write_report(results, rows):
    m = results["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); the analysis at the end comes from `bench/analysis.md`.",
        f"`make bench` runs every scenario {results['config'].get('BENCH_RUNS', 1)} time(s), one whole run after another, and "
        "reports for each scenario its median run, chosen by the figure listed under the results table; every figure "
        "of a scenario comes from that one run. The reference server is measured in each run of the sends scenario.",
        "",
        "## Machine",
        "",
        f"- Date: {m['date_utc']}; git {m['git_commit']}",
        f"- {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB, kernel {m['kernel']}, data on {m['filesystem']}",
        f"- {m['swift']}; libmicrohttpd {m['libmicrohttpd']}; wrk {m['wrk']}",
        "- Everything on 127.0.0.1; load generator and servers share the 2 cores.",
        f"- Other load when the run began: load average {' '.join(m['load_average'])}; busiest processes "
        f"(%CPU since start, command): {'; '.join(p.strip() for p in m['busiest_processes'])}. The machine is shared, "
        "which is why the reference is measured in the same run.",
        "",
        "## Results",
        "",
        "| Figure | Measured | Target | Verdict |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(f"| {row['figure']} | {row['measured']} | {row['target']} | {verdict(row)} |")
    medians = [(name, scenario["runs_headline"]) for name, scenario in results["scenarios"].items()
               if isinstance(scenario, dict) and "runs_headline" in scenario]
    if medians:
        lines += ["", "Each scenario's median run, and the figure of every run it was chosen by:", ""]
        for name, runs in medians:
            values = ", ".join("failed" if value is None else f"{value:.2f}" for value in runs["values"])
            lines.append(f"- {name}: {runs['figure']}: {values}")
    sends = results["scenarios"].get("sends")
    if sends:
        lines += [
            "",
            f"### 1. Sends (wrk, {sends['connections']} connections, {sends['seconds']} s per run, fsync on)",
            "",
            f"Reference (C libmicrohttpd, same wrk script and connections): "
            + ", ".join(f"{r['requests_per_second']:.0f}" for r in sends["reference_runs"])
            + f" requests/s (before and after the chatd runs; mean {sends['reference_requests_per_second']:.0f}).",
            "",
            "| Replicas | Committed/s | x reference | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | non-2xx | socket errors | leader RSS MiB |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for size, run in sends["replicas"].items():
            lat = run["latency_us"]
            lines.append(
                f"| {size} | {run['ok_per_second']:.0f} | {run['ratio_to_reference']:.3f} | {lat['p50'] / 1000:.2f} | "
                f"{lat['p90'] / 1000:.2f} | {lat['p99'] / 1000:.2f} | {lat['p999'] / 1000:.2f} | {lat['max'] / 1000:.1f} | "
                f"{run['failures'] + run['redirects']} | {run['socket_errors']} | "
                f"{(run.get('leader_rss_kib') or 0) / 1024:.1f} |")
        for size, run in sends["replicas"].items():
            forwarded = run.get("forwarded")
            if not forwarded:
                continue
            lat = forwarded["latency_us"]
            lines.append(
                f"| {size}, at a follower with `Prefer: forward` | {forwarded['ok_per_second']:.0f} | "
                f"{forwarded['ok_per_second'] / sends['reference_requests_per_second']:.3f} | {lat['p50'] / 1000:.2f} | "
                f"{lat['p90'] / 1000:.2f} | {lat['p99'] / 1000:.2f} | {lat['p999'] / 1000:.2f} | {lat['max'] / 1000:.1f} | "
                f"{forwarded['failures'] + forwarded['redirects']} | {forwarded['socket_errors']} | |")
        repeated = {size: run["repeats_ok_per_second"] for size, run in sends["replicas"].items()
                    if len(run.get("repeats_ok_per_second", [])) > 1}
        if repeated:
            lines += ["", "Each row is the median of its runs; committed sends/s of every run: " + "; ".join(
                f"{size} replica(s) " + ", ".join(f"{value:.0f}" for value in values) for size, values in repeated.items()) + "."]
    delivery = results["scenarios"].get("delivery")
    if delivery:
        lat = delivery["delivery_latency_us"]
        send = delivery["send"]["latency_us"]
        lines += [
            "",
            "### 2. Delivery (3 replicas; sends at the leader, long-polls with `consistency=stale` at a follower)",
            "",
            f"{delivery['rate']:.0f} sends/s for {CONFIG['BENCH_DELIVERY_SECONDS']} s over {delivery['recipients']} recipients: "
            f"{delivery['send']['ok']} sent, {delivery['received']} received, {delivery['lost']} not received.",
            "",
            "| Latency | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| send start -> receipt at follower | {lat['p50'] / 1000:.2f} | {lat['p90'] / 1000:.2f} | {lat['p99'] / 1000:.2f} | "
            f"{lat['p999'] / 1000:.2f} | {lat['max'] / 1000:.1f} |",
            f"| send start -> 201 from leader | {send['p50'] / 1000:.2f} | {send['p90'] / 1000:.2f} | {send['p99'] / 1000:.2f} | "
            f"{send['p999'] / 1000:.2f} | {send['max'] / 1000:.1f} |",
        ]
        runs = delivery.get("repeats_latency_us", [])
        if len(runs) > 1:
            lines += ["", f"The table is the run with the median p50 of {len(runs)} runs on the same cluster; p50 / p99 of every run: "
                      + ", ".join(f"{run['p50'] / 1000:.2f} / {run['p99'] / 1000:.2f} ms" for run in runs) + "."]
        nio = delivery.get("nio")
        if nio:
            nio_latency = nio["delivery_latency_us"]
            nio_runs = nio.get("repeats_latency_us", [])
            lines += ["", "The load came from chat-bench's threaded client (blocking connections). The same runs through its "
                      "AsyncHTTPClient client, interleaved with them on the same cluster, which costs the two shared cores "
                      f"more CPU per send: median p50 / p99 {nio_latency['p50'] / 1000:.2f} / {nio_latency['p99'] / 1000:.2f} ms"
                      + (("; every run: " + ", ".join(f"{run['p50'] / 1000:.2f} / {run['p99'] / 1000:.2f} ms" for run in nio_runs))
                         if len(nio_runs) > 1 else "") + "."]
    path = results["scenarios"].get("path")
    if path:
        lines += render_path(path)
    failover = results["scenarios"].get("failover")
    if failover:
        lines += [
            "",
            f"### 3. Failover (3 replicas, --tick-ms {failover['tick_ms']} --election-ticks {failover['election_ticks']}, "
            f"steady load {failover['rate']} sends/s on 16 connections)",
            "",
            "Time from the signal to the acknowledgement of the first write that was both sent and acknowledged "
            "after it. The killed replica is restarted and caught up before the next trial. "
            f"Median time between acknowledgements under this load: {failover['median_ms_between_acknowledgements']} ms.",
            "",
            "| Signal | Trials | p50 ms | min ms | max ms |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, summary in failover["summary"].items():
            lines.append(f"| {name} | {summary['measured']}/{summary['trials']} | {summary['p50_ms']} | "
                         f"{summary['min_ms']} | {summary['max_ms']} |")
        for error in failover.get("errors", []):
            lines += ["", f"Trial failed: {error}"]
        lines += ["", "Every trial (ms): " + "; ".join(
            f"{name}: " + ", ".join(str(t["ms_to_next_acknowledged_write"]) for t in failover["trials"] if t["signal"] == name)
            for name in failover["summary"])]
    longpoll = results["scenarios"].get("longpoll")
    if longpoll:
        lines += [
            "",
            f"### 4. Long-poll capacity (1 replica, {longpoll['count']} long-polls on one inbox, woken by one message)",
            "",
            "| Moment | RSS MiB |",
            "| --- | --- |",
            f"| before | {longpoll['before']['rss_kib'] / 1024:.1f} |",
            f"| {longpoll['waiting_seen']} waiting | {longpoll['waiting']['rss_kib'] / 1024:.1f} |",
            f"| highest while waking | {longpoll['max_rss_while_waking_kib'] / 1024:.1f} |",
            f"| 1 s after all were woken | {longpoll['after_wake']['rss_kib'] / 1024:.1f} (peak VmHWM {longpoll['after_wake']['peak_rss_kib'] / 1024:.1f}) |",
            "",
            f"Per connection: {longpoll['bytes_per_connection_waiting'] / 1024:.2f} KiB while waiting, "
            f"{longpoll['bytes_per_connection_peak'] / 1024:.2f} KiB at peak. Opening all took {longpoll['seconds_to_open']} s; "
            f"waking all took {longpoll['seconds_to_wake_all'] * 1000:.0f} ms from the start of the send "
            f"(answers: p50 {longpoll['wake_latency_us']['p50'] / 1000:.0f} ms, last {longpoll['wake_latency_us']['max'] / 1000:.0f} ms); "
            f"{longpoll['woken']} answered 200, {longpoll['failed']} failed.",
        ]
        tries = longpoll.get("failed_tries") or {}
        if tries:
            lines += ["", "Failed tries while opening (a poll is tried up to three times before the wake): " + "; ".join(
                f"{count} × {kind}" for kind, count in sorted(tries.items(), key=lambda item: -item[1])) + "."]
    size = results["scenarios"].get("size")
    if size:
        lines += [
            "",
            f"### 5. Size ({size['messages']} messages, 3 replicas, --snapshot-every {CONFIG['BENCH_SNAPSHOT_EVERY']} "
            f"--retained-entries {CONFIG['BENCH_RETAINED_ENTRIES']})",
            "",
            f"Filled through the API at {size['fill']['ok_per_second']:.0f} sends/s "
            f"({CONFIG['BENCH_SIZE_CONNECTIONS']} connections, 100 recipients) while the third replica had not been started yet.",
            "",
            "| Replica | Role | RSS MiB | Disk MiB |",
            "| --- | --- | --- | --- |",
        ]
        for replica_id, holding in size["holding"].items():
            lines.append(f"| {replica_id} | {holding['role']} | {(holding['rss_kib'] or 0) / 1024:.1f} | "
                         f"{holding['disk_bytes'] / 2**20:.1f} |")
        lines += [
            "",
            "- Fresh replica (empty data directory): "
            + (f"did not catch up ({size['catch_up_error']}; it had applied {size['fresh_replica_applied_index']} of "
               f"{size['leader_commit_index']})" if size["catch_up_error"]
               else f"caught up in {size['catch_up_seconds']} s")
            + f", {size['snapshots_installed_by_fresh_replica']} snapshot(s) installed; its RSS afterwards "
            f"{(size['fresh_rss_kib'] or 0) / 1024:.1f} MiB.",
            f"- Replica {size['restarted_replica_id']} restarted (SIGTERM, start) and answered `/readyz` 200 after "
            f"{size['restart_to_ready_seconds']} s; its RSS 2 s later {(size['restarted_rss_kib'] or 0) / 1024:.1f} MiB.",
        ]
    lines += ["", "## Configuration of this run", "", "```"]
    lines += [f"{key}={value}" for key, value in sorted(results["config"].items())]
    lines += ["```", "", "## Exact commands", "", "```", "make bench", "# which runs:"]
    lines += [f"{command}" for command in results["commands"]]
    lines += ["```", ""]
    analysis = BENCH / "analysis.md"
    if analysis.exists():
        lines += [analysis.read_text().rstrip(), ""]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", default=".build-release/release", help="where chatd and chat-bench are")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; writes bench/work/smoke-results.json only")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios to run")
    parser.add_argument("--results", help="write the results here instead of bench/results.json and BENCHMARKS.md")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite BENCHMARKS.md from bench/results.json (after editing bench/analysis.md)")
    arguments = parser.parse_args()
    if arguments.report_only:
        results = json.loads((BENCH / "results.json").read_text())
        CONFIG.update(results["config"])
        write_report(results, results["targets"])
        print(table(results["targets"]))
        return
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    atexit.register(kill_everything)

    for key, default in DEFAULTS.items():
        value = os.environ.get(key, SMOKE.get(key, default) if arguments.smoke else default)
        CONFIG[key] = type(default)(value) if not isinstance(default, str) else str(value)
    bin_dir = (ROOT / arguments.bin_dir).resolve()
    for program in ("chatd", "chat-bench"):
        if not (bin_dir / program).exists():
            sys.exit(f"bench: {bin_dir / program} is missing; build it first")
    if not (WORK / "reference").exists():
        sys.exit("bench: bench/work/reference is missing; `make bench-reference` builds it")
    WORK.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    results = {"machine": machine(), "config": dict(CONFIG), "scenarios": {}, "commands": COMMANDS}
    failures = []
    names = [n for n in arguments.only.split(",") if n]
    runs = {name: [] for name in names}
    with Reference() as reference:
        # Whole runs one after another (not each scenario three times in a row), so a slow spell of
        # the shared machine lands in one run of every scenario rather than in all runs of one.
        for number in range(1, max(1, CONFIG["BENCH_RUNS"]) + 1):
            for name in names:
                log(f"run {number} of {CONFIG['BENCH_RUNS']}: scenario {name}")
                begun = time.monotonic()
                try:
                    result = globals()[f"scenario_{name}"](bin_dir, reference)
                    result["scenario_seconds"] = round(time.monotonic() - begun, 1)
                    runs[name].append(result)
                except Exception as error:  # one failed scenario must not hide the others
                    log(f"scenario {name} failed: {error}")
                    failures.append(f"{name} (run {number})")
                    results["scenarios"][f"{name}_error_run_{number}"] = str(error)
                kill_stray = [p for p in PROCESSES if p.poll() is None and p is not reference.process]
                for process in kill_stray:
                    process.kill()
    for name in names:
        if runs[name]:
            results["scenarios"][name] = median_of_runs(name, runs[name])
    results["runs"] = runs
    results["total_seconds"] = round(time.monotonic() - started, 1)
    results["machine"]["load_average_end"] = Path("/proc/loadavg").read_text().split()[:3]
    rows = targets(results["scenarios"])
    results["targets"] = rows
    if arguments.smoke:
        print("smoke run: tiny sizes (and usually debug builds), so the verdicts below mean nothing")
    print(table(rows) if rows else "no results")
    print(f"total {results['total_seconds']} s")
    if arguments.smoke:
        (WORK / "smoke-results.json").write_text(json.dumps(results, indent=2) + "\n")
        sends = results["scenarios"].get("sends", {}).get("replicas", {})
        if failures or not sends or any(run["ok"] == 0 for run in sends.values()):
            sys.exit(f"bench smoke failed: {failures or 'no committed sends'}")
        return
    if arguments.results:
        Path(arguments.results).write_text(json.dumps(results, indent=2) + "\n")
        return
    (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    write_report(results, rows)
    log("wrote bench/results.json and BENCHMARKS.md")
    if failures:
        sys.exit(f"bench: scenarios failed: {', '.join(failures)}")


if __name__ == "__main__":
    main()
