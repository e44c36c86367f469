"""The outbox (F8, F18): messages the mailer must send, and which it has acknowledged.

`rm_outbox` is a read model of `Contact.MessageRequested` events (rebuilt from the log
like any other); `outbox_acks` is not: it is the mailer's own record of delivery, so a
rebuild never sends a message twice. Neither holds personal data: the address is read
from the contact grid when the mailer asks, so an erased or deleted person (or, for a
marketing email, one who withdrew consent) is simply no longer listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError

from adapters.sql import grid_tables
from adapters.sql.tracking import TrackedStore
from domain.contacts import Contact

NAME = "outbox"
VERSION = 1
MAX_LIMIT = 500

metadata = MetaData()
contacts = grid_tables.contacts.to_metadata(metadata)

messages = Table(
    "rm_outbox",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("message_id", Uuid, nullable=False, unique=True),
    Column("account_id", Uuid, nullable=False),
    Column("contact_id", Uuid, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("campaign", String(200), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Index("rm_outbox_by_account", "account_id", "position"),
)

acks_metadata = MetaData()  # not a read model: never dropped by a rebuild
acks = Table(
    "outbox_acks",
    acks_metadata,
    Column("message_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("acknowledged_at", DateTime(timezone=True), nullable=False),
)


class OutboxQueryError(ValueError):
    """Raised when an outbox query is not valid (cursor, limit)."""


class MessageNotFoundError(Exception):
    def __init__(self, message_id: UUID) -> None:
        super().__init__(f"outbox message {message_id} not found")


@dataclass(frozen=True)
class Pending:
    """A message to send, with its recipient as the contact grid has them now."""

    message_id: UUID
    kind: str
    campaign: str
    contact_id: UUID
    fields: dict[str, Any]
    requested_at: datetime
    position: int


@dataclass(frozen=True)
class PendingPage:
    messages: list[Pending]
    next_cursor: str | None


@dataclass(frozen=True)
class Ack:
    message_id: UUID
    outcome: str
    acknowledged_at: datetime


class SqlOutboxStore(TrackedStore):
    name = NAME
    version = VERSION
    tables = (messages,)  # not `acks`: a rebuild never drops what the mailer acknowledged
    topics: frozenset[str] | None = frozenset(
        {f"{Contact.MessageRequested.__module__}:{Contact.MessageRequested.__qualname__}"}
    )
    positioned = True
    personal = True

    def finish_schema(self, connection: Connection) -> None:
        acks.create(connection, checkfirst=True)

    def apply(self, batch: Sequence[tuple[int, Any]], start: int, end: int) -> None:
        with self.advancing(start, end) as connection:
            rows = [_message(position, event) for position, event in batch]
            if rows:
                connection.execute(insert(messages), rows)

    # --- the mailer's side ----------------------------------------------------------

    def pending(self, account_id: UUID, limit: int, cursor: str | None) -> PendingPage:
        """Messages not acknowledged yet whose recipient can still be written to."""
        if not 1 <= limit <= MAX_LIMIT:
            raise OutboxQueryError(f"limit must be between 1 and {MAX_LIMIT}")
        after = _after(cursor)
        statement = (
            select(messages, contacts.c.fields)
            .join(contacts, contacts.c.contact_id == messages.c.contact_id)
            .outerjoin(acks, acks.c.message_id == messages.c.message_id)
            .where(
                messages.c.account_id == account_id,
                messages.c.position > after,
                acks.c.message_id.is_(None),
                contacts.c.deleted.is_(False),
                or_(messages.c.kind != "marketing_email", contacts.c.consent_at.is_not(None)),
            )
            .order_by(messages.c.position)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            found = connection.execute(statement).all()
        cursor = str(found[-1].position) if len(found) == limit else None
        listed = [
            Pending(
                r.message_id,
                r.kind,
                r.campaign,
                r.contact_id,
                dict(r.fields),
                r.requested_at,
                r.position,
            )
            for r in found
            if r.fields.get("email")
        ]
        return PendingPage(listed, cursor)

    def acknowledge(self, account_id: UUID, message_id: UUID, outcome: str, at: datetime) -> Ack:
        """Record that the mailer handled a message; the first acknowledgement stands."""
        with self.engine.begin() as connection:
            known = connection.execute(
                select(messages.c.message_id).where(
                    and_(messages.c.account_id == account_id, messages.c.message_id == message_id)
                )
            ).first()
            if known is None:
                raise MessageNotFoundError(message_id)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(acks).values(
                        message_id=message_id,
                        account_id=account_id,
                        outcome=outcome,
                        acknowledged_at=at,
                    )
                )
        except IntegrityError:
            pass  # acknowledged before (a retry): the first acknowledgement stands
        with self.engine.connect() as connection:
            row = connection.execute(select(acks).where(acks.c.message_id == message_id)).one()
        return Ack(row.message_id, row.outcome, row.acknowledged_at)


def _message(position: int, event: Contact.MessageRequested) -> dict[str, Any]:
    return {
        "position": position,
        "message_id": event.message_id,
        "account_id": event.account_id,
        "contact_id": event.originator_id,
        "kind": event.kind,
        "campaign": event.campaign,
        "requested_at": event.timestamp,
    }


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 18:
        raise OutboxQueryError("cursor is the position of the last message of a page")
    return int(cursor)
