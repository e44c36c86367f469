"""Idempotency keys: one stored answer per (account, key), reserved before the write runs.

A key is reserved by inserting a pending row (the primary key makes it atomic across
processes); the write then runs and its answer is stored in that row, or the row is
dropped so that a retry may run it again. Rows expire `hours` after the reservation; a
pending row older than `stale_after` belongs to a process that died and may be taken
over. Keys are kept only as SHA-256 hashes; answers can hold personal data, so each row
names the resources its answer shows (`forget` deletes them when a person is erased).
See decision 0016.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from adapters.sql.engine import create_tables

metadata = MetaData()
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("key_hash", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("owner", String(32), nullable=False),  # the reservation's holder
    Column("reserved_at", DateTime(timezone=True), nullable=False),
    Column("status", Integer),  # NULL while the write runs
    Column("headers", Text),
    Column("body", LargeBinary),
    Column("resource_id", String(32)),
    Column("contact_id", String(32)),
    Index("ix_idempotency_keys_reserved_at", "reserved_at"),
    Index("ix_idempotency_keys_resource", "account_id", "resource_id"),
    Index("ix_idempotency_keys_contact", "account_id", "contact_id"),
)


@dataclass(frozen=True)
class Answer:
    """A stored answer: status, exact body bytes, and the headers worth replaying."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Held:
    """This request holds the key: run the write, then `complete` or `release`."""

    account_id: UUID
    key_hash: str
    owner: str


@dataclass(frozen=True)
class Found:
    """Another request holds the key: its answer, or None while it is still running."""

    fingerprint: str
    answer: Answer | None


class IdempotencyStoreError(RuntimeError):
    """Raised when a key could not be reserved nor found after several attempts."""


class IdempotencyStore:
    def __init__(
        self,
        engine: Engine,
        hours: float = 24.0,
        stale_after: timedelta = timedelta(minutes=5),
    ) -> None:
        self.engine = engine
        self.lifetime = timedelta(hours=hours)
        self.stale_after = stale_after
        # `memory://` is one SQLite connection shared by threads: one transaction at a time.
        self._lock = threading.Lock() if isinstance(engine.pool, StaticPool) else nullcontext()
        create_tables(metadata, engine)

    def reserve(self, account_id: UUID, key: str, fingerprint: str, at: datetime) -> Held | Found:
        """Reserve the key for this request, or say what holds it (expired rows are not)."""
        key_hash = hashlib.sha256(key.encode()).hexdigest()
        for _ in range(10):  # each round loses only to a row that changed meanwhile
            held = Held(account_id, key_hash, uuid4().hex)
            if self._insert(held, fingerprint, at) or self._take_over(held, fingerprint, at):
                return held
            found = self._find(account_id, key_hash, at)
            if found is not None:
                return found
        raise IdempotencyStoreError("an Idempotency-Key kept changing hands; retry")

    def complete(
        self, held: Held, answer: Answer, resource_id: UUID | None, contact_id: UUID | None
    ) -> bool:
        """Store the answer; False if the reservation was taken over meanwhile."""
        values = {
            "status": answer.status,
            "headers": json.dumps(answer.headers),
            "body": answer.body,
            "resource_id": resource_id.hex if resource_id else None,
            "contact_id": contact_id.hex if contact_id else None,
        }
        with self._begin() as connection:
            done = connection.execute(update(idempotency_keys).where(*_held(held)).values(values))
        return bool(done.rowcount)

    def release(self, held: Held) -> None:
        """Drop the reservation: a retry runs the write again."""
        with self._begin() as connection:
            connection.execute(delete(idempotency_keys).where(*_held(held)))

    def forget(self, account_id: UUID, resource_ids: Iterable[UUID]) -> int:
        """Delete the stored answers that show these resources (a person was erased)."""
        ids = [i.hex for i in resource_ids]
        if not ids:
            return 0
        table = idempotency_keys.c
        with self._begin() as connection:
            gone = connection.execute(
                delete(idempotency_keys).where(
                    table.account_id == account_id.hex,
                    or_(table.resource_id.in_(ids), table.contact_id.in_(ids)),
                )
            )
        return int(gone.rowcount)

    def sweep(self, at: datetime) -> int:
        """Delete the expired records; answers how many."""
        with self._begin() as connection:
            gone = connection.execute(
                delete(idempotency_keys).where(idempotency_keys.c.reserved_at < at - self.lifetime)
            )
        return int(gone.rowcount)

    def _insert(self, held: Held, fingerprint: str, at: datetime) -> bool:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(idempotency_keys)
            .values(_pending(held, fingerprint, at))
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.owner)
        )
        with self._begin() as connection:
            return connection.execute(statement).first() is not None

    def _take_over(self, held: Held, fingerprint: str, at: datetime) -> bool:
        """Reuse an expired row, or a pending one whose process has died.

        One UPDATE decides: a concurrent taker re-reads the row it waited for (PostgreSQL)
        or runs after this one (SQLite) and then finds it fresh.
        """
        table = idempotency_keys.c
        with self._begin() as connection:
            taken = connection.execute(
                update(idempotency_keys)
                .where(
                    table.account_id == held.account_id.hex,
                    table.key_hash == held.key_hash,
                    or_(
                        table.reserved_at < at - self.lifetime,
                        table.status.is_(None) & (table.reserved_at < at - self.stale_after),
                    ),
                )
                .values(_pending(held, fingerprint, at))
            )
        return bool(taken.rowcount)

    def _find(self, account_id: UUID, key_hash: str, at: datetime) -> Found | None:
        table = idempotency_keys.c
        with self._begin() as connection:
            row = connection.execute(
                select(table.fingerprint, table.status, table.headers, table.body).where(
                    table.account_id == account_id.hex,
                    table.key_hash == key_hash,
                    table.reserved_at >= at - self.lifetime,
                )
            ).first()
        if row is None:
            return None
        if row.status is None:
            return Found(row.fingerprint, None)
        return Found(row.fingerprint, Answer(row.status, row.body, json.loads(row.headers)))

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self._lock, self.engine.begin() as connection:
            yield connection


def _pending(held: Held, fingerprint: str, at: datetime) -> dict[str, Any]:
    return {
        "account_id": held.account_id.hex,
        "key_hash": held.key_hash,
        "fingerprint": fingerprint,
        "owner": held.owner,
        "reserved_at": at,
        "status": None,
        "headers": None,
        "body": None,
        "resource_id": None,
        "contact_id": None,
    }


def _held(held: Held) -> tuple[Any, ...]:
    table = idempotency_keys.c
    return (
        table.account_id == held.account_id.hex,
        table.key_hash == held.key_hash,
        table.owner == held.owner,
        table.status.is_(None),
    )
