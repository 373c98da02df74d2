"""boto3 against the same SeaweedFS S3 endpoint tintype uses."""
import os

import boto3
from botocore.config import Config

from . import config

_client = None
_client_pid = None


def client():
    """One client per process; created lazily so each prefork child makes its own after fork."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = boto3.client(
            "s3",
            endpoint_url=config.S3_ENDPOINT,
            region_name=config.S3_REGION,
            config=Config(s3={"addressing_style": "path"}, max_pool_connections=50),
        )
        _client_pid = os.getpid()
    return _client


def original_key(job_id: str) -> str:
    return f"{config.S3_PREFIX}originals/{job_id}"


def output_key(job_id: str, name: str, ext: str) -> str:
    return f"{config.S3_PREFIX}outputs/{job_id}/{name}.{ext}"
