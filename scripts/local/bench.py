"""Worker benchmark against a local moto_server: N unencrypted buckets, their events on the
queue, `redress worker --until-idle 2`; reports receipt-to-verified-fix latency (median,
p99, from the evidence records' started_at/finished_at), throughput and the worker's peak
RSS. Usage: bench.py REDRESS_BIN N [CONCURRENCY]. Talks only to 127.0.0.1."""
import glob
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

import boto3

sys.path.insert(0, os.path.dirname(__file__))
from seed import config_event  # noqa: E402

binary, n = sys.argv[1], int(sys.argv[2])
concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 8

s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
work = tempfile.mkdtemp(prefix="redress-bench-")
moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               RUST_LOG="warn")
    os.environ.update(env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            time.sleep(0.1)
    sqs, s3 = boto3.client("sqs", endpoint_url=endpoint), boto3.client("s3", endpoint_url=endpoint)
    queue = sqs.create_queue(QueueName="bench")["QueueUrl"]
    for i in range(n):
        b = f"bench-bucket-{i:05d}"
        s3.create_bucket(Bucket=b)
    for start in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": str(i), "MessageBody": config_event(f"bench-{i}", "s3-bucket-server-side-encryption-enabled",
                                                       "AWS::S3::Bucket", f"bench-bucket-{i:05d}")}
            for i in range(start, min(start + 10, n))])
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    config = os.path.join(work, "redress.toml")
    with open(config, "w") as f:
        f.write(f'playbooks = "{root}/playbooks/catalog"\n[queue]\nurl = "{queue}"\nwait_time_secs = 1\n'
                f'concurrency = {concurrency}\n[store]\nurl = "file://{work}/store"\n')
    t0 = time.monotonic()
    subprocess.run([binary, "--config", config, "worker", "--until-idle", "2"], env=env, check=True)
    wall = time.monotonic() - t0 - 2  # minus the idle window that ends the run
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # includes moto? no: moto still runs

    records = []
    for p in glob.glob(f"{work}/store/evidence/**/*.json", recursive=True):
        with open(p) as f:
            records.append(json.load(f))
    parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))  # noqa: E731
    fixed = [r for r in records if r["outcome"] == "fixed"]
    lat = sorted((parse(r["finished_at"]) - parse(r["started_at"])).total_seconds() * 1000 for r in fixed)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    print(json.dumps({
        "n": n, "concurrency": concurrency, "fixed": len(fixed), "records": len(records),
        "median_ms": round(statistics.median(lat), 1) if lat else None, "p99_ms": round(p99, 1),
        "wall_s": round(wall, 2), "fixes_per_s": round(len(fixed) / wall, 1) if wall > 0 else None,
        "worker_peak_rss_mb": round(peak_kb / 1024, 1),
    }))
finally:
    moto.terminate()
    moto.wait()
