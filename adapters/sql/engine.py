"""One SQLAlchemy engine per process, on the same database as the event store."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.pool import StaticPool

from adapters.settings import Database


def make_engine(database: Database) -> Engine:
    if database.kind == "memory":
        return create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    if database.kind == "sqlite":
        create_private_file(database.path)
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


class DatabaseUnusableError(Exception):
    """Raised when the database named by DATABASE_URL cannot hold the service at all."""


def check_database(database: Database) -> None:
    """A PostgreSQL server that answers, with the schema DATABASE_URL names: said in one
    line before anything is built (the libraries would say it in a traceback). The app
    creates its tables in the schema, never the schema itself: that is the operator's,
    with its owner and grants."""
    if database.kind != "postgres":
        return
    where = f'database "{database.name}"'
    try:
        with psycopg.connect(**_connection_args(database), connect_timeout=10) as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (database.schema,)
            ).fetchone()
    except psycopg.OperationalError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseUnusableError(
            f"cannot use PostgreSQL at {database.host}:{database.port}, {where}: {first}"
        ) from None
    if found is None:
        raise DatabaseUnusableError(
            f'the PostgreSQL schema "{database.schema}" does not exist in {where}: create it '
            f"(CREATE SCHEMA {database.schema}) or change ?schema= in DATABASE_URL"
        )


def _connection_args(database: Database) -> dict[str, Any]:
    return {
        "host": database.host,
        "port": database.port,
        "user": database.user,
        "password": database.password or None,
        "dbname": database.name,
    }


def create_private_file(path: str) -> None:
    """Create a SQLite file readable by its owner only (0600), if it does not exist yet.

    SQLite gives its -wal, -shm and -journal files the database file's mode, so they are
    private too. An existing file keeps its mode (the operator may have chosen it).
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def insert_rows(connection: Connection, table: Table, values: list[dict[str, Any]]) -> None:
    """Insert many rows (dicts by column name; a missing one is NULL) in `connection`'s
    transaction: COPY on PostgreSQL (an executemany spends more in SQLAlchemy's parameter
    handling than the database does inserting)."""
    if not values:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), values)
        return
    columns = [(c.name, isinstance(c.type, JSON)) for c in table.c]
    _copy(
        connection,
        table,
        [tuple(_json(row.get(n)) if j else row.get(n) for n, j in columns) for row in values],
    )


def insert_tuples(connection: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    """`insert_rows` for rows already in the table's column order (no dict a row), into a
    table without JSON columns."""
    assert not any(isinstance(c.type, JSON) for c in table.c), "JSON columns: insert_rows"
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        names = [c.name for c in table.c]
        connection.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return
    _copy(connection, table, rows)


def _copy(connection: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    driver = connection.connection.driver_connection  # same transaction as `connection`
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.c)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table.name), names)
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        write = copy.write_row
        for row in rows:
            write(row)


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_tables(metadata: MetaData, engine: Engine) -> None:
    """Create missing tables; on PostgreSQL one process at a time (catalogue races)."""
    with engine.begin() as connection:
        lock_schema(connection)
        metadata.create_all(connection)


def lock_schema(connection: Connection) -> None:
    """On PostgreSQL, one process at a time makes tables (until the transaction ends)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


SCHEMA_LOCK = 0x6C6564676572
