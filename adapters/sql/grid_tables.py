"""Read-model tables of the grid projection (SQLAlchemy Core, SQLite and PostgreSQL).

Migration scheme: read models are disposable. `rm_tracking` records each projection's
schema VERSION; on start-up a projection whose stored version differs from the code's is
emptied and rebuilt from the event log (`adapters/sql/tracking.py`, docs/decisions/0009).
Indexes are not part of the version: every start creates the missing ones on existing
tables too, and on PostgreSQL the trigram indexes for free text when `pg_trgm` is (or
can be) installed (see docs/decisions/0011).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import CreateIndex, DropIndex

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")


def _identity_columns() -> list[Column[Any]]:
    """Case-folded copies for filtering and sorting; display values stay in `fields`."""
    return [
        Column("folded", Json, nullable=False),
        Column("email", String(254)),
        Column("first_name", String(1000)),
        Column("last_name", String(1000)),
        Column("company", String(1000)),
        Column("job_title", String(1000)),
        Column("sort_name", String(2001), nullable=False),
        Column("search", Text, nullable=False),
    ]


# Kept for finding, sorting and folding rows, never shown: a page does not read them.
FINDING = frozenset({"memberships", *(column.name for column in _identity_columns())})

# Identity filters (eq, in, range) in the default name order, straight from an index: the
# grid's scope, the filtered column, then the sort key. E-mail on contacts has its own.
FILTERED = ("email", "first_name", "last_name", "company", "job_title")


def _filter_indexes(table: str, scope: str, key: str, columns: tuple[str, ...]) -> list[Index]:
    return [
        Index(f"{table}_by_{column}_name", scope, "deleted", column, "sort_name", key)
        for column in columns
    ]


def _due_index(table: str, lone: bool = False) -> Index:
    """The purge's work list: only rows deleted and not yet erased, by deadline. Each
    dialect's predicate is spelt as its compiler spells the query's (SQLite: `= 1`)."""
    extra = " AND deleted_with IS NULL" if lone else ""
    return Index(
        f"{table}_due",
        "restore_until",
        postgresql_where=text("deleted AND NOT erased" + extra),
        sqlite_where=text("deleted = 1 AND erased = 0" + extra),
    )


events = Table(
    "rm_events",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("starts_on", String(10)),
)

participants = Table(
    "rm_participants",
    metadata,
    Column("participant_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("contact_id", Uuid),
    Column("status", String(16), nullable=False),
    Column("source", String(16), nullable=False),
    Column("fields", Json, nullable=False),
    *_identity_columns(),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("deleted_with", Uuid),
    Column("restore_until", DateTime(timezone=True)),
    Column("erased", Boolean, nullable=False, default=False),
    Index("rm_participants_grid", "event_id", "deleted", "sort_name", "participant_id"),
    Index("rm_participants_contact", "contact_id"),
    # contacts of one event (`event_id`, `participated`), counted from the event's side
    Index("rm_participants_by_event_contact", "event_id", "deleted", "contact_id"),
    _due_index("rm_participants", lone=True),
    *_filter_indexes("rm_participants", "event_id", "participant_id", FILTERED),
)

contacts = Table(
    "rm_contacts",
    metadata,
    Column("contact_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("fields", Json, nullable=False),
    Column("memberships", Json, nullable=False),
    *_identity_columns(),
    Column("n_events", Integer, nullable=False),
    Column("n_communities", Integer, nullable=False),
    Column("processing_status", String(16), nullable=False),
    Column("groups", Json, nullable=False),
    Column("forms", Json, nullable=False),
    Column("consent_at", DateTime(timezone=True)),
    Column("consent_source", String(200)),
    Column("site_confirmed", Boolean, nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("failed_attempts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("restore_until", DateTime(timezone=True)),
    Column("erased", Boolean, nullable=False, default=False),
    Index("rm_contacts_by_name", "account_id", "deleted", "sort_name", "contact_id"),
    Index("rm_contacts_by_email", "account_id", "deleted", "email", "contact_id"),
    Index("rm_contacts_by_created", "account_id", "deleted", "created_at", "contact_id"),
    _due_index("rm_contacts"),
    *_filter_indexes("rm_contacts", "account_id", "contact_id", FILTERED[1:]),
)

# --- free text: trigram indexes on PostgreSQL --------------------------------------------

TRIGRAM = "pg_trgm"
SEARCHED = {"rm_contacts_search": "rm_contacts", "rm_participants_search": "rm_participants"}
log = logging.getLogger(__name__)
_warned: set[str] = set()


def create_indexes(connection: Any) -> None:
    """Every secondary index that is missing, trigram ones included where possible."""
    for table in (contacts, participants):
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            connection.execute(CreateIndex(index, if_not_exists=True))
    schema = trigram_schema(connection)
    for name, table_name in SEARCHED.items() if schema else ():
        ops = f"{connection.dialect.identifier_preparer.quote_schema(schema)}.gin_trgm_ops"
        connection.execute(
            text(f"CREATE INDEX IF NOT EXISTS {name} ON {table_name} USING gin (search {ops})")
        )


def drop_indexes(connection: Any) -> None:
    """Every secondary index (bulk loads create them again afterwards)."""
    for table in (contacts, participants):
        for index in table.indexes:
            connection.execute(DropIndex(index, if_exists=True))
    if connection.dialect.name == "postgresql":
        for name in SEARCHED:
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))


def trigram_schema(connection: Any) -> str | None:
    """The schema of `pg_trgm` on PostgreSQL, installing it in `public` if it is missing
    and allowed; None (logged once) where it is not: free text then scans."""
    if connection.dialect.name != "postgresql":
        return None
    find = text("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = :n")
    schema = connection.execute(find, {"n": TRIGRAM}).scalar()
    if schema is not None:
        return str(schema)
    try:
        with connection.begin_nested():
            connection.execute(text(f"CREATE EXTENSION IF NOT EXISTS {TRIGRAM} SCHEMA public"))
    except DBAPIError as error:
        if TRIGRAM not in _warned:
            _warned.add(TRIGRAM)
            log.warning(
                "%s is not installed and cannot be (%s): grid free-text search and"
                " `contains` filters scan the rows; install it to index them",
                TRIGRAM,
                str(error.orig).strip().splitlines()[0],
            )
        return None
    return "public"


@event.listens_for(metadata, "after_create")
def _create_missing_indexes(_metadata: MetaData, connection: Any, **_: Any) -> None:
    create_indexes(connection)
