"""Backends the same test bodies run on: in memory, a SQLite file, a PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from adapters.settings import Database, Settings

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = b"test-secret-of-at-least-32-bytes!!"


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(_dsn(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _dsn() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def backend_settings(kind: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for one fresh, empty store of the given kind; dropped afterwards."""
    if kind == "memory":
        yield _settings(Database("memory"), tmp_path)
    elif kind == "sqlite":
        yield _settings(Database("sqlite", path=str(tmp_path / "ledger.sqlite")), tmp_path)
    else:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(_dsn(), autocommit=True) as connection:
            connection.execute(f"CREATE SCHEMA {schema}")
        try:
            yield _settings(Database.from_url(f"{_dsn()}?schema={schema}"), tmp_path)
        finally:
            with psycopg.connect(_dsn(), autocommit=True) as connection:
                connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(
        database=database,
        data_dir=tmp_path,
        key_index_secret=SECRET,
        # reads with `after=` wait for four projector threads: on a busy 2-core machine
        # half a second was sometimes too short (a 504 in CI); 5 s is the default
        read_wait_seconds=5,
    )
