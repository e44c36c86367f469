"""One SQLAlchemy engine per process, on the same database as the event store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.pool import StaticPool

from adapters.settings import Database


def make_engine(database: Database) -> Engine:
    if database.kind == "memory":
        return create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    if database.kind == "sqlite":
        engine = create_engine(
            database.sqlalchemy_url(), connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        database.sqlalchemy_url(),
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"options": f"-csearch_path={database.schema}"},
    )


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """Create missing tables; on PostgreSQL one process at a time (catalogue races)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        metadata.create_all(connection)


SCHEMA_LOCK = 0x6C6564676572
