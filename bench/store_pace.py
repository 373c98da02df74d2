"""The object store alone at a paced job's rhythm: every 100 ms, a W1 job's three storage calls
(PUT the photo, GET it back, PUT a 160 KB output), then latency per call and the slow rounds with
their times, so a periodic stall in the store shows without tintype in the way. Beside it, a probe
writes 4 KB and fsyncs it every 20 ms in the current directory, as PostgreSQL's commits and
RabbitMQ's confirms do: its slow fsyncs, with the kernel's dirty and writeback memory at that
moment, show when the store's unsynced writes stall everyone else's.

  eval "$(scripts/stack.sh env)"
  ~/.cache/tintype/venv-reference/bin/python bench/store_pace.py target/bench-inputs/camera-12mp.jpg 300

Uses S3_ENDPOINT, S3_REGION and the AWS_* credentials; works in a bucket of its own, removed after.
"""
import datetime
import os
import sys
import threading
import time

import boto3
from botocore.config import Config


def fsync_probe(stop: threading.Event, seen: list) -> None:
    """Every 20 ms: write 4 KB and fsync; keeps (time, ms, Dirty kB, Writeback kB) of each call."""
    path = f"store-pace-fsync-{os.getpid()}.tmp"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while not stop.is_set():
            a = time.monotonic()
            os.pwrite(fd, b"x" * 4096, 0)
            os.fsync(fd)
            ms = (time.monotonic() - a) * 1000
            mem = {}
            if ms > 50:
                with open("/proc/meminfo") as f:
                    mem = {k: v.split()[0] for k, v in (line.split(":", 1) for line in f)}
            at = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:12]
            seen.append((at, ms, mem.get("Dirty", "?"), mem.get("Writeback", "?")))
            stop.wait(0.02)
    finally:
        os.close(fd)
        os.unlink(path)


def main(photo: str, rounds: int) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )
    bucket = f"store-pace-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    big = open(photo, "rb").read()
    small = big[:160_000]
    rounds_seen = []
    fsyncs: list = []
    stop = threading.Event()
    probe = threading.Thread(target=fsync_probe, args=(stop, fsyncs))
    probe.start()
    next_at = time.monotonic()
    try:
        for i in range(rounds):
            next_at += 0.1
            a = time.monotonic()
            s3.put_object(Bucket=bucket, Key=f"original/{i}", Body=big)
            b = time.monotonic()
            s3.get_object(Bucket=bucket, Key=f"original/{i}")["Body"].read()
            c = time.monotonic()
            s3.put_object(Bucket=bucket, Key=f"output/{i}", Body=small)
            d = time.monotonic()
            at = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S.%f")[:12]
            rounds_seen.append((at, (b - a) * 1000, (c - b) * 1000, (d - c) * 1000))
            time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        stop.set()
        probe.join()
        for i in range(len(rounds_seen)):
            s3.delete_object(Bucket=bucket, Key=f"original/{i}")
            s3.delete_object(Bucket=bucket, Key=f"output/{i}")
        s3.delete_bucket(Bucket=bucket)
    for col, name in ((1, "PUT photo"), (2, "GET photo"), (3, "PUT 160 KB")):
        v = sorted(r[col] for r in rounds_seen)
        n = len(v)
        print(f"{name:11} p50 {v[n // 2]:6.1f}  p90 {v[int(n * 0.9)]:6.1f}  "
              f"p99 {v[min(n - 1, int(n * 0.99))]:6.1f}  max {v[-1]:6.1f} ms")
    slow = [r for r in rounds_seen if max(r[1:]) > 120]
    print(f"{len(slow)} of {n} rounds had a call over 120 ms (time: PUT/GET/PUT ms):")
    print(" ".join(f"{r[0]}({r[1]:.0f}/{r[2]:.0f}/{r[3]:.0f})" for r in slow))
    v = sorted(f[1] for f in fsyncs)
    n = len(v)
    print(f"fsync 4 KB  p50 {v[n // 2]:6.1f}  p99 {v[min(n - 1, int(n * 0.99))]:6.1f}  "
          f"max {v[-1]:6.1f} ms ({n} calls); over 50 ms (time ms dirty/writeback kB):")
    print(" ".join(f"{f[0]}({f[1]:.0f} {f[2]}/{f[3]})" for f in fsyncs if f[1] > 50))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300)
