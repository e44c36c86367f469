"""Bearer tokens: each scoped to one account and one role, stored only as a SHA-256 hash.

A token's public id is the first 12 hex digits of its hash: enough to list and revoke it,
useless to call with. Each process keeps a valid token's row for `cache_seconds`: a
revocation takes effect everywhere within that time (expiry is checked on every call).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import overload
from uuid import UUID

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    insert,
    inspect,
    select,
    text,
    update,
)

from adapters.sql.engine import SCHEMA_LOCK
from domain.meta import Role

TOKEN_PREFIX = "clt_"
ID_LENGTH = 12

metadata = MetaData()
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),  # exclusive; None: never
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)
ADDED_SINCE_FIRST = ("expires_at", "revoked_at")  # stores made before get them on start


class TokenError(ValueError):
    """Raised when a token cannot be created or revoked as asked."""


class TokenRefusedError(Exception):
    """Raised when a presented token is unknown, expired or revoked (the message says which)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: their account, role and actor name (for the audit trail)."""

    account_id: UUID
    role: Role
    actor: str


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the token, nor its whole hash."""

    token_id: str
    role: str
    actor: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    expires_at: datetime | None
    revoked: bool
    kept_until: float  # monotonic


class TokenStore:
    def __init__(self, engine: Engine, cache_seconds: float = 5.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, _Entry] = {}
        with engine.begin() as connection:
            _create_or_upgrade(connection)

    def create(
        self,
        account_id: UUID,
        role: str,
        actor: str,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> str:
        checked_role = _role(role)
        if not actor.strip() or len(actor) > 200:
            raise TokenError("actor is 1 to 200 characters")
        if expires_at is not None and expires_at <= at:
            raise TokenError("the expiry must be in the future")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(
                insert(api_tokens).values(
                    token_hash=_hash(token),
                    account_id=account_id.hex,
                    role=checked_role.value,
                    actor=actor.strip(),
                    created_at=at.astimezone(UTC),
                    expires_at=None if expires_at is None else expires_at.astimezone(UTC),
                )
            )
        return token

    def principal(self, token: str, at: datetime) -> Principal:
        """Who the token speaks for at `at`; TokenRefusedError if nobody."""
        entry = self._entry(_hash(token))
        if entry is None:
            raise TokenRefusedError("a valid bearer token is required")
        if entry.revoked:
            raise TokenRefusedError("the bearer token has been revoked")
        if entry.expires_at is not None and at >= entry.expires_at:
            raise TokenRefusedError(f"the bearer token expired at {entry.expires_at.isoformat()}")
        return entry.principal

    def listed(self, account_id: UUID) -> list[TokenInfo]:
        """The account's tokens, oldest first, revoked and expired ones too."""
        query = (
            select(api_tokens)
            .where(api_tokens.c.account_id == account_id.hex)
            .order_by(api_tokens.c.created_at, api_tokens.c.token_hash)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            TokenInfo(
                r.token_hash[:ID_LENGTH],
                r.role,
                r.actor,
                _aware(r.created_at),
                _aware(r.expires_at),
                _aware(r.revoked_at),
            )
            for r in rows
        ]

    def revoke(self, token_id: str, at: datetime) -> TokenInfo:
        """Revoke the token with this id (idempotent: the first revocation time stays)."""
        if len(token_id) != ID_LENGTH or not all(c in "0123456789abcdef" for c in token_id):
            raise TokenError(f"a token id is {ID_LENGTH} hex digits, as `tokens list` shows")
        matching = api_tokens.c.token_hash.startswith(token_id)
        with self.engine.begin() as connection:
            hashes = connection.execute(select(api_tokens.c.token_hash).where(matching)).all()
            if not hashes:
                raise TokenError(f"no token {token_id}")
            connection.execute(
                update(api_tokens)
                .where(matching, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at.astimezone(UTC))
            )
            row = connection.execute(select(api_tokens).where(matching)).one()
        self._cache.pop(row.token_hash, None)  # this process at once; the others within the TTL
        return TokenInfo(
            token_id,
            row.role,
            row.actor,
            _aware(row.created_at),
            _aware(row.expires_at),
            _aware(row.revoked_at),
        )

    def _entry(self, digest: str) -> _Entry | None:
        cached = self._cache.get(digest)
        if cached is not None and cached.kept_until > time.monotonic():
            return cached
        with self.engine.connect() as connection:
            row = connection.execute(
                select(api_tokens).where(api_tokens.c.token_hash == digest)
            ).first()
        if row is None:
            self._cache.pop(digest, None)
            return None
        entry = _Entry(
            Principal(UUID(row.account_id), Role(row.role), row.actor),
            _aware(row.expires_at),
            row.revoked_at is not None,
            time.monotonic() + self.cache_seconds,
        )
        if self.cache_seconds > 0:
            self._cache[digest] = entry
        return entry


def _create_or_upgrade(connection: Connection) -> None:
    """Create the table, or add the columns a store made by an older version lacks."""
    if connection.dialect.name == "postgresql":  # one process at a time (catalogue races)
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
    metadata.create_all(connection)
    present = {c["name"] for c in inspect(connection).get_columns("api_tokens")}
    for name in ADDED_SINCE_FIRST:
        if name not in present:
            column = api_tokens.c[name].type.compile(connection.dialect)
            connection.execute(text(f"ALTER TABLE api_tokens ADD COLUMN {name} {column}"))


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise TokenError(f"role must be one of {', '.join(r.value for r in Role)}") from None


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: None) -> None: ...
def _aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive times: they were stored as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
