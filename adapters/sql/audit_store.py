"""The audit trail read model in SQL (F14): entries, the subjects' state, and queries.

Like the grid: the subjects a batch needs are loaded, events are folded in memory, entries
are inserted and subjects written back with the tracking position, in one transaction
(compare-and-set on the position). Erasure blanks the values of every entry of the
erased subject in that same transaction.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from adapters.sql.tracking import TrackedStore
from domain.participants import Participant
from projections import audit
from projections.audit import AuditEntry, Subject

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")
CHUNK = 500
MAX_LIMIT = 500

entries = Table(
    "rm_audit",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("account_id", Uuid),
    Column("action", String(80), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", Uuid, nullable=False),
    Column("contact_id", Uuid),
    Column("organiser_event_id", Uuid),
    Column("changes", Json, nullable=False),
    Column("details", Json, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("origin", String(32), nullable=False),
    Column("correlation_id", String(200), nullable=False),
    Column("causation_id", String(200)),
    Index("rm_audit_by_contact", "account_id", "contact_id", "position"),
    Index("rm_audit_by_subject", "subject_id", "position"),
    Index("rm_audit_by_actor", "account_id", "actor", "position"),
    Index("rm_audit_by_time", "account_id", "at", "position"),
)
# The change feed's walk through one account (added after the table: `ensure_schema` makes
# it on tables that predate it).
by_account = Index("rm_audit_by_account", entries.c.account_id, entries.c.position)

subjects = Table(
    "rm_audit_subjects",
    metadata,
    Column("subject_id", Uuid, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("account_id", Uuid),
    Column("contact_id", Uuid),
    Column("organiser_event_id", Uuid),
    Column("fields", Json, nullable=False),
    Column("erased", Boolean, nullable=False),
)


class AuditQueryError(ValueError):
    """Raised when an audit query is not valid (bad cursor, limit, time range)."""


@dataclass(frozen=True)
class AuditQuery:
    account_id: UUID
    contact_id: UUID | None = None
    merged: tuple[UUID, ...] = ()  # contacts merged into contact_id: their entries too (F10)
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int = 100
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise AuditQueryError(f"limit must be between 1 and {MAX_LIMIT}")

    def after(self) -> int:
        if self.cursor is None:
            return 0
        try:
            position = json.loads(base64.urlsafe_b64decode(self.cursor.encode()))["audit"]
        except (ValueError, TypeError, KeyError, binascii.Error, RecursionError):
            raise AuditQueryError("cursor is not one the audit issued") from None
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < 2**63:
            raise AuditQueryError("cursor is not one the audit issued")
        return position


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None


class SqlAuditStore(TrackedStore):
    name = audit.NAME
    version = audit.VERSION
    tables = (entries, subjects)
    topics: frozenset[str] | None = None  # every event is audited
    positioned = True  # entries are keyed by log position
    personal = True

    def finish_schema(self, connection: Connection) -> None:
        by_account.create(connection, checkfirst=True)

    def apply(self, batch: Sequence[tuple[int, Any]], start: int, end: int) -> None:
        """Audit (position, event) pairs of log positions start+1..end; move to `end`."""
        with self.advancing(start, end) as connection:
            events = [event for _, event in batch]
            known = self._load(connection, audit.needs(events))
            fresh = set(audit.needs(events)) - set(known)
            made = [audit.apply(position, event, known) for position, event in batch]
            if made:
                connection.execute(insert(entries), [_entry_values(e) for e in made])
            self._write(connection, known, fresh)
            self._link_earlier(connection, events)
            self._blank(connection, audit.erased_subjects(events))

    # --- queries --------------------------------------------------------------------

    def page(self, query: AuditQuery) -> AuditPage:
        statement = (
            select(entries)
            .where(_where(query), entries.c.position > query.after())
            .order_by(entries.c.position)
            .limit(query.limit + 1)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        found = [entry_from_row(r) for r in rows[: query.limit]]
        more = len(rows) > query.limit
        cursor = make_cursor(found[-1].position) if more and found else None
        return AuditPage(found, cursor)

    def positions_until(self, account_id: UUID, at: datetime) -> list[int]:
        """The log positions of an account's events up to (not including) its first one
        recorded after `at`: a prefix of its history, so a state it was really in."""
        mine = entries.c.account_id == account_id
        with self.engine.connect() as connection:
            later = connection.execute(
                select(func.min(entries.c.position)).where(mine, entries.c.at > at)
            ).scalar()
            statement = select(entries.c.position).where(mine, entries.c.at <= at)
            if later is not None:
                statement = statement.where(entries.c.position < later)
            return list(connection.execute(statement.order_by(entries.c.position)).scalars())

    def rows(self, query: AuditQuery) -> Iterator[AuditEntry]:
        """Every entry of a query, page after page: constant memory for CSV exports."""
        page = self.page(dataclasses.replace(query, limit=MAX_LIMIT, cursor=None))
        while True:
            yield from page.entries
            if page.next_cursor is None:
                return
            page = self.page(dataclasses.replace(query, limit=MAX_LIMIT, cursor=page.next_cursor))

    # --- rows <-> SQL ---------------------------------------------------------------

    def _load(self, connection: Connection, ids: set[UUID]) -> dict[UUID, Subject]:
        wanted, found = list(ids), {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            for r in connection.execute(select(subjects).where(subjects.c.subject_id.in_(chunk))):
                found[r.subject_id] = Subject(
                    r.subject_id,
                    r.kind,
                    r.account_id,
                    r.contact_id,
                    r.organiser_event_id,
                    dict(r.fields),
                    r.erased,
                )
        return found

    def _write(self, connection: Connection, known: dict[UUID, Subject], fresh: set[UUID]) -> None:
        values = [dataclasses.asdict(s) for s in known.values()]
        old = [v["subject_id"] for v in values if v["subject_id"] not in fresh]
        for start in range(0, len(old), CHUNK):
            chunk = old[start : start + CHUNK]
            connection.execute(delete(subjects).where(subjects.c.subject_id.in_(chunk)))
        if values:
            connection.execute(insert(subjects), values)

    def _link_earlier(self, connection: Connection, events: list[Any]) -> None:
        """A participant's entries before it was linked (its registration) join the contact."""
        for event in events:
            if isinstance(event, Participant.Linked):
                connection.execute(
                    update(entries)
                    .where(entries.c.subject_id == event.originator_id)
                    .where(entries.c.contact_id.is_(None))
                    .values(contact_id=event.contact_id)
                )

    def _blank(self, connection: Connection, erased: set[UUID]) -> None:
        if not erased:
            return
        found = connection.execute(
            select(entries.c.position, entries.c.changes).where(entries.c.subject_id.in_(erased))
        ).all()
        blanked = [
            {"at_position": position, "blank": audit.blank(dict(changes))}
            for position, changes in found
            if changes
        ]
        if blanked:
            connection.execute(
                update(entries)
                .where(entries.c.position == bindparam("at_position"))
                .values(changes=bindparam("blank")),
                blanked,
            )


def _where(query: AuditQuery) -> Any:
    conditions = [entries.c.account_id == query.account_id]
    if query.contact_id is not None:
        ids = [query.contact_id, *query.merged]
        conditions.append(or_(entries.c.contact_id.in_(ids), entries.c.subject_id.in_(ids)))
    if query.actor is not None:
        conditions.append(entries.c.actor == query.actor)
    if query.action is not None:
        conditions.append(entries.c.action == query.action)
    if query.since is not None:
        conditions.append(entries.c.at >= query.since)
    if query.until is not None:
        conditions.append(entries.c.at < query.until)
    return and_(*conditions)


def _entry_values(entry: AuditEntry) -> dict[str, Any]:
    return dataclasses.asdict(entry)


def entry_from_row(row: Any) -> AuditEntry:
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(AuditEntry)}
    if values["at"].tzinfo is None:
        values["at"] = values["at"].replace(tzinfo=UTC)
    values["changes"], values["details"] = dict(values["changes"]), dict(values["details"])
    return AuditEntry(**values)


def make_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"audit": position}).encode()).decode()
