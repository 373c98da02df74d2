"""Settings from the environment, with the names tintype itself uses (scripts/stack.sh env)."""
import os
from urllib.parse import urlsplit, urlunsplit

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2f")
S3_ENDPOINT = os.environ.get("S3_ENDPOINT", "http://127.0.0.1:8333")
S3_BUCKET = os.environ.get("S3_BUCKET", "tintype")
S3_REGION = os.environ.get("S3_REGION", "us-east-1")
# Everything the reference writes lives under this prefix, so it never mixes with tintype's keys.
S3_PREFIX = os.environ.get("REFERENCE_S3_PREFIX", "reference/")
QUEUE = os.environ.get("REFERENCE_QUEUE", "reference")
MAX_UPLOAD_BYTES = int(os.environ.get("REFERENCE_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
SOURCE_FETCH_TIMEOUT = float(os.environ.get("REFERENCE_SOURCE_FETCH_TIMEOUT_SECS", "30"))
# Celery publishes without publisher confirms by default; this opts in for a like-for-like test.
CONFIRM_PUBLISH = os.environ.get("REFERENCE_CONFIRM_PUBLISH", "0") == "1"


def database_url() -> str:
    """The reference's own database: REFERENCE_DATABASE_URL, or DATABASE_URL's server with the
    database REFERENCE_DB (default tintype_reference), so it never touches tintype's tables."""
    explicit = os.environ.get("REFERENCE_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tintype")
    parts = urlsplit(base)
    name = os.environ.get("REFERENCE_DB", "tintype_reference")
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def sqlalchemy_url(url: str) -> str:
    """postgres://… as SQLAlchemy names the psycopg 3 driver."""
    for scheme in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    return url
