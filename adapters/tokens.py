"""Bearer tokens: each scoped to one account and one role, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, insert, select

from adapters.sql.engine import create_tables
from domain.meta import Role

TOKEN_PREFIX = "clt_"

metadata = MetaData()
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class TokenError(ValueError):
    """Raised when a token cannot be created as asked (unknown role, bad actor name)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: their account, role and actor name (for the audit trail)."""

    account_id: UUID
    role: Role
    actor: str


class TokenStore:
    def __init__(self, engine: Engine, cache_seconds: float = 30.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Principal, float]] = {}
        create_tables(metadata, engine)

    def create(self, account_id: UUID, role: str, actor: str, at: datetime) -> str:
        try:
            checked_role = Role(role)
        except ValueError:
            raise TokenError(f"role must be one of {', '.join(r.value for r in Role)}") from None
        if not actor.strip() or len(actor) > 200:
            raise TokenError("actor is 1 to 200 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(
                insert(api_tokens).values(
                    token_hash=_hash(token),
                    account_id=account_id.hex,
                    role=checked_role.value,
                    actor=actor.strip(),
                    created_at=at,
                )
            )
        return token

    def principal(self, token: str) -> Principal | None:
        digest = _hash(token)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        with self.engine.connect() as connection:
            row = connection.execute(
                select(api_tokens).where(api_tokens.c.token_hash == digest)
            ).first()
        if row is None:
            return None
        principal = Principal(UUID(row.account_id), Role(row.role), row.actor)
        self._cache[digest] = (principal, time.monotonic() + self.cache_seconds)
        return principal


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
