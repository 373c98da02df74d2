"""Creates the reference's database (if missing) and the Celery result tables, once, before
the worker's processes start (so they don't race to create them)."""
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from . import config


def _server_and_name(url: str):
    parts = urlsplit(url)
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    return admin, parts.path.lstrip("/")


def create():
    admin, name = _server_and_name(config.database_url())
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    from .worker import app
    # The database backend creates its tables on first session; do it here, single-threaded.
    app.backend.ResultSession().close()


def drop():
    admin, name = _server_and_name(config.database_url())
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    {"create": create, "drop": drop}[sys.argv[1]]()
