"""End-to-end benchmark of redress against moto_server on 127.0.0.1 (issue 8, BENCHMARKS.md).

Side by side in one run, on the same emulator:
  - redress: drifted buckets, their Config events on an SQS queue, `redress worker
    --until-idle`; per-fix time from receipt to verified fix (evidence started_at →
    finished_at), fixes per second, peak RSS, start-up time to the first receive;
  - the API floor: the same read / write / re-read S3 calls per bucket and nothing else,
    with the Rust SDK (tests/examples/bench_floor.rs) and with boto3, sequentially and with
    redress's concurrency;
  - Cloud Custodian (c7n) remediating the same buckets with the equivalent policy action;
  - the inventory case: k drifted among N buckets, Custodian's pull mode against redress
    acting on the k events;
  - scaling: 1, 2, 4 worker processes on one queue; concurrency 1…64 in one process.

Usage: bench.py --redress BIN --floor BIN [--custodian BIN] [--quick] [--runs R]
                [--only side,inventory,trickle,scaling] [--json FILE]
Prints Markdown tables (medians over the runs, [min–max]) and writes every raw figure to
--json. Talks only to 127.0.0.1.
"""
import argparse
import concurrent.futures
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime

import boto3
import botocore.config
from botocore.exceptions import ClientError

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(__file__))
from seed import config_event  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CREDS = dict(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
             AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")

# What "drifted" means per kind: the Config rule whose event redress gets, the playbook, and
# the Custodian policy that fixes the same thing.
KINDS = {
    "encryption": {
        "rule": "s3-bucket-server-side-encryption-enabled",
        "opt_in": None,  # s3-default-encryption is `auto` by default
        "custodian": """policies:
  - name: s3-default-encryption
    resource: aws.s3
    filters:
      - type: bucket-encryption
        state: false
    actions:
      - type: set-bucket-encryption
        crypto: AES256
        enabled: true
""",
    },
    "bpa": {
        "rule": "s3-bucket-level-public-access-prohibited",
        "opt_in": "s3-block-public-access",  # an exposure fix: auto only with `[gate] auto`
        "custodian": """policies:
  - name: s3-block-public-access
    resource: aws.s3
    filters:
      - type: check-public-block
    actions:
      - type: set-public-block
""",
    },
}


# Every bucket here is drifted on purpose, in one account: the blast-radius breaker (50 auto
# fixes per account and hour by default) would hold most of them for approval. An operator
# remediating a known mass drift raises the limits the same way.
BREAKER = "[breaker]\nmax_auto_per_account = 1000000\nmax_auto_per_playbook = 1000000\n"

# The bucket of the S3 evidence store variant (as deployed: `[store] url = "s3://…"`).
EVIDENCE_BUCKET = "redress-evidence"


def parse_time(t):
    """RFC 3339 with up to nanoseconds (chrono) → POSIX seconds."""
    t = re.sub(r"(\.\d{6})\d+", r"\1", t.replace("Z", "+00:00"))
    return datetime.fromisoformat(t).timestamp()


def pct(values, q):
    """The q-quantile by rank (p99 of 200 values is the 198th smallest)."""
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(q * len(v))) - 1))] if v else None


def wait4(proc):
    """Waits for one child; its own peak RSS in MB (not the max over all children, which
    RUSAGE_CHILDREN would give) and CPU seconds (user + system)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


class Moto:
    """One moto_server; `reset()` empties it between runs (faster than a restart)."""

    def __init__(self, workdir, stock=False):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(workdir, f"moto-{self.port}.log")
        self.log = open(self.log_path, "w")
        # bench_moto.py: moto less two emulator artefacts (see there).
        server = (["-m", "moto.server", "-H", "127.0.0.1", "-p"] if stock
                  else [os.path.join(os.path.dirname(__file__), "bench_moto.py"), "127.0.0.1"])
        self.proc = subprocess.Popen([sys.executable, *server, str(self.port)], stdout=subprocess.DEVNULL,
                                     stderr=self.log)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto_server did not start")

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")).read()

    def log_size(self):
        self.log.flush()
        return os.path.getsize(self.log_path)

    def calls_since(self, offset):
        """The requests moto logged since `offset`, by method and S3 sub-resource (JSON
        APIs, SQS, STS and Config, are all `POST /`)."""
        time.sleep(0.2)  # the last lines reach the log
        counts = {}
        with open(self.log_path) as f:
            f.seek(offset)
            for line in f:
                m = re.search(r'"(GET|PUT|POST|DELETE|HEAD) (/[^ ?]*)(\?[^ =&]*)?[^ ]* HTTP', line)
                if not m or m.group(2).startswith("/moto-api"):
                    continue
                op = f"{m.group(1)} {'/' if m.group(2) == '/' else '/bucket'}{m.group(3) or ''}"
                counts[op] = counts.get(op, 0) + 1
        return counts

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def clients(endpoint, concurrency=10):
    cfg = botocore.config.Config(max_pool_connections=max(10, concurrency), retries={"mode": "standard"})
    return (boto3.client("s3", endpoint_url=endpoint, config=cfg),
            boto3.client("sqs", endpoint_url=endpoint, config=cfg))


def bucket_names(n):
    return [f"bench-{i:05d}" for i in range(n)]


def setup(moto, kind, n, drifted):
    """N buckets of which the first `drifted` are drifted (moto creates buckets without
    default encryption and without Block Public Access); the others are made compliant."""
    moto.reset()
    s3, sqs = clients(moto.endpoint, 16)
    names = bucket_names(n)

    def make(i):
        s3.create_bucket(Bucket=names[i])
        if i >= drifted:
            fix(s3, kind, names[i])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(n)))
    queue = sqs.create_queue(QueueName="bench")["QueueUrl"]
    return names[:drifted], queue


def enqueue(moto, queue, kind, buckets):
    _, sqs = clients(moto.endpoint)
    for start in range(0, len(buckets), 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(i), "MessageBody": config_event(f"bench-{i}", KINDS[kind]["rule"], "AWS::S3::Bucket", b)}
            for i, b in enumerate(buckets[start:start + 10], start)])


def is_fixed(s3, kind, bucket):
    try:
        if kind == "encryption":
            s3.get_bucket_encryption(Bucket=bucket)
            return True
        c = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        return all(c.values())
    except ClientError:
        return False


def fix(s3, kind, bucket):
    if kind == "encryption":
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
    else:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})


def verified(moto, kind, buckets):
    """How many of the buckets read back as fixed, whatever the tool reported."""
    s3, _ = clients(moto.endpoint, 8)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return sum(pool.map(lambda b: is_fixed(s3, kind, b), buckets))


def evidence(moto, store, s3_store):
    """Every evidence record the run stored."""
    records = []
    if s3_store:
        s3, _ = clients(moto.endpoint)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=EVIDENCE_BUCKET, Prefix="bench/evidence/"):
            for obj in page.get("Contents", []):
                records.append(json.loads(s3.get_object(Bucket=EVIDENCE_BUCKET, Key=obj["Key"])["Body"].read()))
        return records
    for dirpath, _, files in os.walk(os.path.join(store, "store", "evidence")):
        for name in files:
            with open(os.path.join(dirpath, name)) as f:
                records.append(json.load(f))
    return records


def run_redress(args, moto, kind, n, drifted=None, concurrency=8, processes=1, work=None, s3_store=False):
    """Cold start as a user runs it: events queued first, then the worker(s) spawned. The
    evidence store is a local folder, or with `s3_store` a bucket in moto, as deployed."""
    buckets, queue = setup(moto, kind, n, drifted if drifted is not None else n)
    enqueue(moto, queue, kind, buckets)
    store = tempfile.mkdtemp(prefix="store-", dir=work)
    if s3_store:
        clients(moto.endpoint)[0].create_bucket(Bucket=EVIDENCE_BUCKET)
    config = os.path.join(store, "redress.toml")
    opt_in = KINDS[kind]["opt_in"]
    store_url = f"s3://{EVIDENCE_BUCKET}/bench" if s3_store else f"file://{store}/store"
    with open(config, "w") as f:
        f.write(f'playbooks = "{ROOT}/playbooks/catalog"\n'
                f'[queue]\nurl = "{queue}"\nwait_time_secs = 1\nconcurrency = {concurrency}\n'
                f'[store]\nurl = "{store_url}"\n' + BREAKER
                + (f'[gate]\nauto = ["{opt_in}"]\n' if opt_in else ""))
    # The deployed log settings (info, JSON), to a file the harness reads afterwards.
    env = dict(os.environ, AWS_ENDPOINT_URL=moto.endpoint, REDRESS_LOG_FORMAT="json",
               REDRESS_HEARTBEAT=os.path.join(store, "heartbeat"), **CREDS)
    env.pop("RUST_LOG", None)
    offset = moto.log_size()
    procs = []
    for i in range(processes):
        log = open(os.path.join(store, f"worker-{i}.log"), "w")
        spawned = time.time()
        procs.append((spawned, log, subprocess.Popen(
            [args.redress, "--config", config, "worker", "--until-idle", "1"],
            env=env, stdout=subprocess.DEVNULL, stderr=log)))
    rss, cpu, startup = [], [], []
    for spawned, log, p in procs:
        peak, seconds = wait4(p)
        rss.append(peak)
        cpu.append(seconds)
        log.close()
        if p.returncode != 0:
            raise RuntimeError(f"redress worker exited {p.returncode}; see {log.name}")
        with open(log.name) as f:
            for line in f:
                if "First receive answered." in line:
                    startup.append((parse_time(json.loads(line)["timestamp"]) - spawned) * 1000)
                    break
    calls = moto.calls_since(offset)
    records = evidence(moto, store, s3_store)
    fixed = [r for r in records if r["outcome"] == "fixed"]
    started = [parse_time(r["started_at"]) for r in fixed]
    finished = [parse_time(r["finished_at"]) for r in fixed]
    lat = [(f - s) * 1000 for s, f in zip(started, finished)]
    first_spawn = min(s for s, _, _ in procs)
    busy = max(finished) - min(started) if fixed else 0
    return {
        "tool": "redress", "kind": kind, "n": n, "drifted": len(buckets), "concurrency": concurrency,
        "processes": processes, "fixed": len(fixed), "records": len(records),
        "verified": verified(moto, kind, buckets),
        "median_ms": statistics.median(lat) if lat else None, "p99_ms": pct(lat, 0.99),
        "fixes_per_s": len(fixed) / busy if busy > 0 else None,
        "all_verified_s": max(finished) - first_spawn if fixed else None,
        "startup_ms": statistics.median(startup) if startup else None,
        "rss_mb": max(rss), "rss_total_mb": sum(rss),
        "cpu_ms_per_fix": sum(cpu) * 1000 / len(fixed) if fixed else None,
        "calls": calls,
    }


def run_floor_rust(args, moto, kind, n, concurrency):
    buckets, _ = setup(moto, kind, n, n)
    env = dict(os.environ, AWS_ENDPOINT_URL=moto.endpoint, **CREDS)
    offset = moto.log_size()
    with tempfile.TemporaryFile("w+") as out:
        spawned = time.time()
        p = subprocess.Popen([args.floor, kind, "bench-", str(n), str(concurrency)], env=env, stdout=out)
        rss, cpu = wait4(p)
        if p.returncode != 0:
            raise RuntimeError(f"bench_floor exited {p.returncode}")
        out.seek(0)
        r = json.load(out)
    calls = moto.calls_since(offset)
    lat = r["latencies_ms"]
    return {"tool": "floor-rust", "kind": kind, "n": n, "concurrency": concurrency,
            "verified": verified(moto, kind, buckets),
            "median_ms": statistics.median(lat), "p99_ms": pct(lat, 0.99),
            "fixes_per_s": n / (r["end"] - r["start"]), "all_verified_s": r["end"] - spawned,
            "rss_mb": rss, "cpu_ms_per_fix": cpu * 1000 / n, "calls": calls}


def run_floor_boto3(args, moto, kind, n, concurrency):
    buckets, _ = setup(moto, kind, n, n)
    offset = moto.log_size()
    spawned = time.time()
    s3, _ = clients(moto.endpoint, concurrency)

    def one(bucket):
        t = time.perf_counter()
        if kind == "encryption":
            assert not is_fixed(s3, kind, bucket)
        else:
            assert not is_fixed(s3, kind, bucket)
            s3.get_bucket_acl(Bucket=bucket)
        fix(s3, kind, bucket)
        assert is_fixed(s3, kind, bucket)
        if kind == "bpa":
            s3.get_bucket_acl(Bucket=bucket)
        return (time.perf_counter() - t) * 1000

    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        lat = list(pool.map(one, buckets))
    end = time.time()
    calls = moto.calls_since(offset)
    return {"tool": "floor-boto3", "kind": kind, "n": n, "concurrency": concurrency,
            "verified": verified(moto, kind, buckets),
            "median_ms": statistics.median(lat), "p99_ms": pct(lat, 0.99),
            "fixes_per_s": n / (end - start), "all_verified_s": end - spawned, "calls": calls}


def run_custodian(args, moto, kind, n, drifted=None, work=None):
    """`custodian run` as a user runs it (pull mode: list every bucket, filter, act), timed
    from spawn to exit; per-resource times are not available."""
    buckets, _ = setup(moto, kind, n, drifted if drifted is not None else n)
    out = tempfile.mkdtemp(prefix="custodian-", dir=work)
    policy = os.path.join(out, "policy.yml")
    with open(policy, "w") as f:
        f.write(KINDS[kind]["custodian"])
    env = dict(os.environ, AWS_ENDPOINT_URL=moto.endpoint, **CREDS)
    offset = moto.log_size()
    start = time.time()
    with open(os.path.join(out, "custodian.log"), "w") as log:
        p = subprocess.Popen([args.custodian, "run", "-s", out, "--cache-period", "0", "--region", "us-east-1",
                              policy], env=env, stdout=log, stderr=subprocess.STDOUT)
        rss, cpu = wait4(p)
    end = time.time()
    if p.returncode != 0:
        raise RuntimeError(f"custodian exited {p.returncode}; see {log.name}")
    calls = moto.calls_since(offset)
    return {"tool": "custodian", "kind": kind, "n": n, "drifted": len(buckets),
            "verified": verified(moto, kind, buckets), "fixes_per_s": len(buckets) / (end - start),
            "all_verified_s": end - start, "rss_mb": rss, "cpu_ms_per_fix": cpu * 1000 / len(buckets),
            "calls": calls}


def run_trickle(args, moto, kind, count, gap, work=None):
    """A worker already waiting on the queue (as deployed); events sent one by one `gap`
    seconds apart; time from SendMessage to the verified fix's finished_at."""
    buckets, queue = setup(moto, kind, count, count)
    store = tempfile.mkdtemp(prefix="store-", dir=work)
    config = os.path.join(store, "redress.toml")
    with open(config, "w") as f:
        f.write(f'playbooks = "{ROOT}/playbooks/catalog"\n[queue]\nurl = "{queue}"\nwait_time_secs = 20\n'
                f'[store]\nurl = "file://{store}/store"\n' + BREAKER)
    env = dict(os.environ, AWS_ENDPOINT_URL=moto.endpoint, REDRESS_LOG_FORMAT="json",
               REDRESS_HEARTBEAT=os.path.join(store, "heartbeat"), **CREDS)
    log = open(os.path.join(store, "worker.log"), "w")
    p = subprocess.Popen([args.redress, "--config", config, "worker", "--until-idle", "3"], env=env,
                         stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(200):  # until the worker is up; its first long poll starts right after
        with open(log.name) as f:
            if "Worker started." in f.read():
                break
        time.sleep(0.05)
    time.sleep(0.2)
    _, sqs = clients(moto.endpoint)
    sent = {}
    for i, b in enumerate(buckets):
        sent[f"trickle-{i}"] = time.time()
        sqs.send_message(QueueUrl=queue, MessageBody=config_event(f"trickle-{i}", KINDS[kind]["rule"],
                                                                  "AWS::S3::Bucket", b))
        time.sleep(gap)
    wait4(p)
    log.close()
    lat, recv = [], []
    for r in evidence(moto, store, False):
        if r["outcome"] == "fixed":
            t0 = sent[r["finding"]["event_id"]]
            lat.append((parse_time(r["finished_at"]) - t0) * 1000)
            recv.append((parse_time(r["started_at"]) - t0) * 1000)
    return {"tool": "redress", "kind": kind, "n": count, "fixed": len(lat),
            "verified": verified(moto, kind, buckets),
            "median_ms": statistics.median(lat), "p99_ms": pct(lat, 0.99),
            "receive_median_ms": statistics.median(recv)}


# --- reporting -----------------------------------------------------------------------------

def med(runs, key):
    v = [r[key] for r in runs if r.get(key) is not None]
    return (statistics.median(v), min(v), max(v)) if v else None


def fmt(m, unit="", digits=1, ranges=True):
    if m is None:
        return "–"
    mid, lo, hi = m
    s = f"{mid:.{digits}f}{unit}"
    return f"{s} [{lo:.{digits}f}–{hi:.{digits}f}]" if ranges and hi > lo else s


def ratio(a, b):
    return f"{a[0] / b[0]:.2f}" if a and b and b[0] else "–"


def per_fix(runs):
    """Time per fix with a backlog, 1 ÷ fixes/s, so that every ratio reads "times as long"."""
    return med([{"s": 1 / r["fixes_per_s"]} for r in runs if r.get("fixes_per_s")], "s")


def calls_per(runs, n):
    """Requests per bucket, from the first run."""
    c = runs[0].get("calls") or {}
    total = sum(c.values())
    s3 = sum(v for k, v in c.items() if "/bucket" in k)
    return f"{s3 / n:.1f} + {(total - s3) / n:.1f}"


def intake_figures(criterion_dir):
    """The intake micro-benchmark's medians (playbooks/benches/intake.rs), µs per event."""
    events = len([f for f in os.listdir(os.path.join(ROOT, "examples", "events")) if f.endswith(".json")])
    figures = {"events": events}
    for name in ("serde_json_value", "decode", "redress"):
        with open(os.path.join(criterion_dir, "mix", name, "new", "estimates.json")) as f:
            figures[name] = json.load(f)["median"]["point_estimate"] / events / 1000
    return figures


def report_intake(p, fig):
    p(f"\n### Intake: the {fig['events']} sample events of examples/events (criterion medians)\n")
    p("| per event | time | ÷ `serde_json::from_slice::<Value>` |")
    p("|---|---|---|")
    for label, name in [("`serde_json::from_slice::<serde_json::Value>`", "serde_json_value"),
                        ("redress decode (`intake::decode`)", "decode"),
                        ("redress decode + match + gate + render (`plan_finding`)", "redress")]:
        p(f"| {label} | {fig[name]:.2f} µs | {fig[name] / fig['serde_json_value']:.2f} |")


def report_side(p, side, runs):
    by, n = side["by"], side["n"]
    p(f"\n### Side by side: {n} buckets, drift `{side['kind']}` ({runs} runs, median [min–max])\n")
    p("| tool | per-fix median | per-fix p99 | fixes/s | start → all verified | start-up to 1st receive "
      "| peak RSS | CPU per fix | requests per bucket (S3 + other) | verified |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for name, rs in by.items():
        p(f"| {name} | {fmt(med(rs, 'median_ms'), ' ms')} | {fmt(med(rs, 'p99_ms'), ' ms')} "
          f"| {fmt(med(rs, 'fixes_per_s'))} | {fmt(med(rs, 'all_verified_s'), ' s', 2)} "
          f"| {fmt(med(rs, 'startup_ms'), ' ms')} | {fmt(med(rs, 'rss_mb'), ' MB', 1, False)} "
          f"| {fmt(med(rs, 'cpu_ms_per_fix'), ' ms', 2, False)} "
          f"| {calls_per(rs, n)} | {min(r['verified'] for r in rs)}/{n} |")
    p()
    p("| ratio of times (medians) | per-fix median | time per fix with a backlog (1 ÷ fixes/s) "
      "| start → all verified |")
    p("|---|---|---|---|")
    pairs = [("redress c1 ÷ floor-rust c1", "redress c1", "floor-rust c1"),
             ("redress c8 ÷ floor-rust c8", "redress c8", "floor-rust c8"),
             ("redress c1 ÷ floor-boto3 c1", "redress c1", "floor-boto3 c1"),
             ("redress c8 ÷ floor-boto3 c8", "redress c8", "floor-boto3 c8"),
             ("Custodian ÷ redress c8", "custodian", "redress c8")]
    for label, a, b in [(label, by[a], by[b]) for label, a, b in pairs if a in by and b in by]:
        p(f"| {label} | {ratio(med(a, 'median_ms'), med(b, 'median_ms'))} "
          f"| {ratio(per_fix(a), per_fix(b))} | {ratio(med(a, 'all_verified_s'), med(b, 'all_verified_s'))} |")


def report_inventory(p, inventory, runs):
    k = inventory[0]["redress"][0]["drifted"]
    p(f"\n### Inventory: {k} drifted among N buckets, time to all {k} verified ({runs} runs, median [min–max])\n")
    p("| N | redress (spawn → all verified) | Custodian (`custodian run`) | Custodian ÷ redress "
      "| Custodian requests | Custodian peak RSS |")
    p("|---|---|---|---|---|---|")
    for row in inventory:
        rr, cr = row["redress"], row["custodian"]
        a, b = med(rr, "all_verified_s"), med(cr, "all_verified_s")
        p(f"| {row['n']} | {fmt(a, ' s', 2)} | {fmt(b, ' s', 2)} | {ratio(b, a)} "
          f"| {sum(cr[0]['calls'].values())} | {fmt(med(cr, 'rss_mb'), ' MB', 1, False)} |")


def report_trickle(p, tr):
    p(f"\n### A running worker: one event every 250 ms, SendMessage → verified fix ({len(tr)} runs)\n")
    p("| events | SendMessage → received (median) | SendMessage → verified: median | p99 |")
    p("|---|---|---|---|")
    p(f"| {tr[0]['n']} | {fmt(med(tr, 'receive_median_ms'), ' ms')} | {fmt(med(tr, 'median_ms'), ' ms')} "
      f"| {fmt(med(tr, 'p99_ms'), ' ms')} |")


def report_scaling(p, scaling, n, runs):
    p(f"\n### Scaling: {n} buckets, drift `encryption` ({runs} runs, median [min–max])\n")
    p("| worker processes × concurrency | fixes/s | per-fix median | per-fix p99 | peak RSS per process "
      "| RSS of all processes |")
    p("|---|---|---|---|---|---|")
    for row in scaling:
        rs = row["runs"]
        p(f"| {row['processes']} × {row['concurrency']} | {fmt(med(rs, 'fixes_per_s'))} "
          f"| {fmt(med(rs, 'median_ms'), ' ms')} | {fmt(med(rs, 'p99_ms'), ' ms')} "
          f"| {fmt(med(rs, 'rss_mb'), ' MB', 1, False)} | {fmt(med(rs, 'rss_total_mb'), ' MB', 1, False)} |")


def report(p, results):
    if results.get("intake"):
        report_intake(p, results["intake"])
    for side in results["side"]:
        report_side(p, {"n": results["n"], **side}, results["runs"])
    if results["inventory"]:
        report_inventory(p, results["inventory"], results["runs"])
    if results["trickle"]:
        report_trickle(p, results["trickle"])
    if results["scaling"]:
        report_scaling(p, results["scaling"], results["n"], results["runs"])


# --- measuring -----------------------------------------------------------------------------

def log(what, r):
    print(f"# {what}: {json.dumps(r)}", file=sys.stderr, flush=True)


def measure(args, results, moto, work, p):
    n, runs, k = results["n"], results["runs"], 5
    only = set(args.only.split(","))
    # Warm-up: first-use costs in moto (imports per service) and the page cache.
    run_redress(args, moto, "encryption", 10, work=work)
    if "side" in only:
        for kind in ["encryption"] if args.quick else ["encryption", "bpa"]:
            tools = [("floor-rust c1", lambda: run_floor_rust(args, moto, kind, n, 1)),
                     ("floor-rust c8", lambda: run_floor_rust(args, moto, kind, n, 8)),
                     ("floor-boto3 c1", lambda: run_floor_boto3(args, moto, kind, n, 1)),
                     ("floor-boto3 c8", lambda: run_floor_boto3(args, moto, kind, n, 8)),
                     ("redress c1", lambda: run_redress(args, moto, kind, n, concurrency=1, work=work)),
                     ("redress c8", lambda: run_redress(args, moto, kind, n, concurrency=8, work=work)),
                     ("redress c8, S3 evidence store",
                      lambda: run_redress(args, moto, kind, n, concurrency=8, work=work, s3_store=True))]
            if kind != "encryption":
                # The second drift checks the same comparison on another playbook; the
                # variants are measured once, on encryption.
                keep = {"floor-rust c1", "floor-rust c8", "redress c1", "redress c8"}
                tools = [t for t in tools if t[0] in keep]
            if args.custodian:
                tools.append(("custodian", lambda: run_custodian(args, moto, kind, n, work=work)))
            by = {name: [] for name, _ in tools}
            for rep in range(runs):  # interleaved, so load drifts hit every tool alike
                for name, f in tools:
                    by[name].append(f())
                    log(f"{kind} run {rep + 1}: {name}", by[name][-1])
            results["side"].append({"kind": kind, "n": n, "by": by})
            report_side(p, results["side"][-1], runs)
    if "inventory" in only and args.custodian:
        for size in [50, 200] if args.quick else [100, 500, 1000]:
            row = {"n": size, "redress": [], "custodian": []}
            for _ in range(runs):
                row["redress"].append(run_redress(args, moto, "encryption", size, drifted=k, work=work))
                row["custodian"].append(run_custodian(args, moto, "encryption", size, drifted=k, work=work))
                log(f"inventory {size}", [row["redress"][-1], row["custodian"][-1]])
            results["inventory"].append(row)
        report_inventory(p, results["inventory"], runs)
    if "trickle" in only:
        for _ in range(runs):
            results["trickle"].append(run_trickle(args, moto, "encryption", 10 if args.quick else 20, 0.25, work))
            log("running worker", results["trickle"][-1])
        report_trickle(p, results["trickle"])
    if "scaling" in only:
        side = {s["kind"]: s["by"] for s in results["side"]}.get("encryption", {})
        for procs, c in [(1, c) for c in (1, 2, 4, 8, 16, 32, 64)] + [(2, 8), (4, 8)]:
            rs = side.get(f"redress c{c}") if procs == 1 else None
            if not rs:
                rs = [run_redress(args, moto, "encryption", n, concurrency=c, processes=procs, work=work)
                      for _ in range(runs)]
                for r in rs:
                    log(f"scaling {procs}x{c}", r)
            results["scaling"].append({"processes": procs, "concurrency": c, "runs": rs})
        report_scaling(p, results["scaling"], n, runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--redress")
    ap.add_argument("--floor")
    ap.add_argument("--custodian")
    ap.add_argument("--quick", action="store_true", help="small N, one run: checks the harness")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--n", type=int)
    ap.add_argument("--only", default="side,inventory,trickle,scaling")
    ap.add_argument("--json", help="write every raw figure here")
    ap.add_argument("--report", help="print the tables of a saved --json file instead of measuring")
    ap.add_argument("--stock-moto", action="store_true", help="moto as released (see bench_moto.py)")
    ap.add_argument("--criterion", help="criterion's output folder: the intake table")
    args = ap.parse_args()

    def p(line=""):
        print(line, flush=True)

    if args.report:
        with open(args.report) as f:
            results = json.load(f)
        if args.criterion and not results.get("intake"):
            results["intake"] = intake_figures(args.criterion)
        report(p, results)
        return
    if not (args.redress and args.floor):
        ap.error("--redress and --floor are needed to measure")
    results = {"n": args.n or (40 if args.quick else 200), "runs": args.runs or (1 if args.quick else 3),
               "intake": intake_figures(args.criterion) if args.criterion else None,
               "side": [], "inventory": [], "trickle": [], "scaling": []}
    if results["intake"]:
        report_intake(p, results["intake"])
    work = tempfile.mkdtemp(prefix="redress-bench-")
    os.environ.update(CREDS)
    moto = Moto(work, args.stock_moto)
    try:
        measure(args, results, moto, work, p)
    finally:
        moto.stop()
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
