"""Read-model tables of the grid projection (SQLAlchemy Core, SQLite and PostgreSQL).

Migration scheme: read models are disposable. `rm_tracking` records each projection's
schema VERSION; on start-up a projection whose stored version differs from the code's is
dropped, recreated and rebuilt from the event log (see docs/decisions/0009).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
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
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()
Json = JSON().with_variant(JSONB(), "postgresql")


def _identity_columns() -> list[Column]:
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


tracking = Table(
    "rm_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
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
)
