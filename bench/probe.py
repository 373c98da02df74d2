"""Small checks `bench/run.sh` needs from PostgreSQL, RabbitMQ and S3 (run with the reference venv).

  probe.py submit-check REPORT NOTE DATABASE_URL TABLE AMQP_URL QUEUE...
                      -> {"rows": N, "messages": M, "accepted": A from the loadgen REPORT, "note"}
  probe.py purge AMQP_URL QUEUE...                      deletes the queues (missing ones are fine)
  probe.py drop-topology AMQP_URL PREFIX                 deletes tintype's queues and exchanges
  probe.py make-bucket NAME | drop-bucket NAME           an S3 bucket of the run's own (S3_* env)
  probe.py versions DATABASE_URL AMQP_URL               -> "PostgreSQL x, RabbitMQ y"
  probe.py expire-objects PREFIX AGE_SECS INTERVAL_SECS  deletes objects under PREFIX older than
                                                        AGE_SECS, every INTERVAL_SECS, until killed
"""
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlparse

import amqp
import psycopg


def amqp_conn(url):
    u = urlparse(url)
    vhost = unquote(u.path[1:]) if len(u.path) > 1 else "/"
    conn = amqp.Connection(host=f"{u.hostname}:{u.port or 5672}", userid=unquote(u.username or "guest"),
                           password=unquote(u.password or "guest"), virtual_host=vhost)
    conn.connect()
    return conn


def counts(db, table, amqp_url, queues):
    """Rows in TABLE and messages waiting in QUEUES."""
    with psycopg.connect(db) as c:
        rows = c.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    conn = amqp_conn(amqp_url)
    messages = 0
    for q in queues:
        ch = conn.channel()
        try:
            messages += ch.queue_declare(q, passive=True).message_count
        except amqp.exceptions.NotFound:
            pass
    conn.close()
    return {"rows": rows, "messages": messages}


def submit_check(report, note, db, table, amqp_url, queues):
    """The submit path's durability check: counts beside the jobs the load tool saw accepted."""
    check = counts(db, table, amqp_url, queues)
    with open(report) as f:
        check["accepted"] = json.load(f)["accepted"]
    if note:
        check["note"] = note
    print(json.dumps(check))


def _delete_each(amqp_url, names, delete):
    """Calls delete(channel, name) for each name; a missing one closes its channel, so one each."""
    conn = amqp_conn(amqp_url)
    for name in names:
        try:
            delete(conn.channel(), name)
        except amqp.exceptions.NotFound:
            pass
    conn.close()


def purge(amqp_url, queues):
    _delete_each(amqp_url, queues, lambda ch, q: ch.queue_delete(q))


# The names of crates/shared-protocol/src/topology.rs.
def tintype_topology(prefix):
    prios = ("high", "default", "low")
    queues = [f"{prefix}.jobs.{p}" for p in prios] + [f"{prefix}.jobs.dead"]
    queues += [f"{prefix}.retry.{t}s.{p}" for t in (5, 30, 300) for p in prios]
    exchanges = [f"{prefix}.{e}" for e in ("jobs", "dlx", "retry", "control", "events")]
    return queues, exchanges


def drop_topology(amqp_url, prefix):
    queues, exchanges = tintype_topology(prefix)
    purge(amqp_url, queues)
    _delete_each(amqp_url, exchanges, lambda ch, e: ch.exchange_delete(e))


def s3():
    import boto3
    return boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name=os.environ.get("S3_REGION", "us-east-1"))


def make_bucket(name):
    s3().create_bucket(Bucket=name)


def drop_bucket(name):
    client = s3()
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=name)
    except client.exceptions.NoSuchBucket:
        pass


def versions(db, amqp_url):
    with psycopg.connect(db) as c:
        pg = c.execute("SHOW server_version").fetchone()[0].split()[0]
    conn = amqp_conn(amqp_url)
    rabbit = conn.server_properties.get("version", "?")
    if isinstance(rabbit, bytes):
        rabbit = rabbit.decode()
    conn.close()
    print(f"PostgreSQL {pg}, RabbitMQ {rabbit}")


def expire_objects(prefix, age, interval):
    # What a lifecycle rule would do for the Celery stack, which has no retention of its own.
    from reference import config, storage
    s3 = storage.client()
    while True:
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=age)
        old = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=config.S3_BUCKET, Prefix=prefix):
            old += [{"Key": o["Key"]} for o in page.get("Contents", []) if o["LastModified"] < cutoff]
        for i in range(0, len(old), 1000):
            s3.delete_objects(Bucket=config.S3_BUCKET, Delete={"Objects": old[i:i + 1000], "Quiet": True})
        time.sleep(interval)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "submit-check":
        submit_check(args[0], args[1], args[2], args[3], args[4], args[5:])
    elif cmd == "purge":
        purge(args[0], args[1:])
    elif cmd == "drop-topology":
        drop_topology(args[0], args[1])
    elif cmd == "make-bucket":
        make_bucket(args[0])
    elif cmd == "drop-bucket":
        drop_bucket(args[0])
    elif cmd == "versions":
        versions(args[0], args[1])
    elif cmd == "expire-objects":
        expire_objects(args[0], float(args[1]), float(args[2]))
    else:
        sys.exit(__doc__)
