"""The object store alone at a paced job's rhythm: every 100 ms, a W1 job's three storage calls
(PUT the photo, GET it back, PUT a 160 KB output), then latency per call and the slow rounds with
their times, so a periodic stall in the store shows without tintype in the way.

  eval "$(scripts/stack.sh env)"
  ~/.cache/tintype/venv-reference/bin/python bench/store_pace.py target/bench-inputs/camera-12mp.jpg 300

Uses S3_ENDPOINT, S3_REGION and the AWS_* credentials; works in a bucket of its own, removed after.
"""
import datetime
import os
import sys
import time

import boto3
from botocore.config import Config


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


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 300)
