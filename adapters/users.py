"""People who sign in to the back office, and their sessions.

A user belongs to one account with one of the API's roles; the password is kept only as an
argon2id hash (argon2-cffi, decision 0053). A session is a random id held in an HttpOnly
cookie and stored only as its SHA-256, with the CSRF token its forms carry: signing out
deletes it, so a copied cookie stops working at once, in every process.

The audit names a user as `user:<first 12 hex digits of the user id>`: never the e-mail
address, which is personal data and outlives no erasure of a contact but must not be
copied into every event the user causes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from adapters.sql.engine import create_tables
from adapters.tokens import Principal
from domain.meta import Role

SESSION_HOURS = 12  # a session ends this long after sign-in, or at sign-out
MIN_PASSWORD, MAX_PASSWORD = 12, 1024
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")

metadata = MetaData()
web_users = Table(
    "web_users",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("role", String(16), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


class UserError(ValueError):
    """Raised when a user cannot be created as asked (the message says why)."""


@dataclass(frozen=True)
class User:
    user_id: UUID
    account_id: UUID
    email: str
    role: Role

    @property
    def actor(self) -> str:
        return f"user:{self.user_id.hex[:12]}"

    @property
    def principal(self) -> Principal:
        return Principal(self.account_id, self.role, self.actor)


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class UserStore:
    def __init__(self, engine: Engine, hasher: PasswordHasher | None = None) -> None:
        self.engine = engine
        self.hasher = hasher or PasswordHasher()
        self._decoy = ""  # what a sign-in for an unknown address verifies against (lazily)
        create_tables(metadata, engine)

    def create(self, account_id: UUID, role: str, email: str, password: str, at: datetime) -> User:
        address = email.strip().lower()
        if not EMAIL.match(address):
            raise UserError("the e-mail address must look like name@example.org")
        try:
            checked_role = Role(role)
        except ValueError:
            raise UserError(f"role must be one of {', '.join(r.value for r in Role)}") from None
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise UserError(f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        user = User(uuid4(), account_id, address, checked_role)
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(web_users).values(
                        user_id=user.user_id.hex,
                        account_id=account_id.hex,
                        email=address,
                        role=checked_role.value,
                        password_hash=self.hasher.hash(password),
                        created_at=at.astimezone(UTC),
                    )
                )
        except IntegrityError:
            raise UserError("a user with this e-mail address exists already") from None
        return user

    def check_password(self, email: str, password: str) -> User | None:
        """The user these credentials name, or None (an unknown address costs the same)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(web_users).where(web_users.c.email == email.strip().lower())
            ).first()
        if row is None and not self._decoy:
            self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
        try:  # an unknown address costs the same work as a known one
            self.hasher.verify(self._decoy if row is None else row.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(row.password_hash):
            with self.engine.begin() as connection:
                connection.execute(
                    update(web_users)
                    .where(web_users.c.user_id == row.user_id)
                    .values(password_hash=self.hasher.hash(password))
                )
        return _user(row)

    def open_session(self, user: User, at: datetime) -> tuple[str, Session]:
        """A new session for `user`: (the cookie's value, the session)."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as connection:
            connection.execute(
                delete(web_sessions).where(web_sessions.c.expires_at <= at.astimezone(UTC))
            )
            connection.execute(
                insert(web_sessions).values(
                    session_hash=_hash(cookie),
                    user_id=user.user_id.hex,
                    csrf=csrf,
                    expires_at=(at + timedelta(hours=SESSION_HOURS)).astimezone(UTC),
                )
            )
        return cookie, Session(user, csrf)

    def session(self, cookie: str, at: datetime) -> Session | None:
        query = (
            select(web_users, web_sessions.c.csrf, web_sessions.c.expires_at)
            .join(web_sessions, web_sessions.c.user_id == web_users.c.user_id)
            .where(web_sessions.c.session_hash == _hash(cookie))
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None or _aware(row.expires_at) <= at:
            return None
        return Session(_user(row), row.csrf)

    def close_session(self, cookie: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(web_sessions).where(web_sessions.c.session_hash == _hash(cookie))
            )

    def names(self, actors: set[str]) -> dict[str, str]:
        """The e-mail address of each `user:` actor among `actors` (for the audit screen)."""
        prefixes = {a.removeprefix("user:") for a in actors if a.startswith("user:")}
        if not prefixes:
            return {}
        with self.engine.connect() as connection:
            rows = connection.execute(select(web_users.c.user_id, web_users.c.email)).all()
        return {f"user:{r.user_id[:12]}": r.email for r in rows if r.user_id[:12] in prefixes}


def _user(row: object) -> User:
    return User(
        UUID(row.user_id),  # type: ignore[attr-defined]
        UUID(row.account_id),  # type: ignore[attr-defined]
        row.email,  # type: ignore[attr-defined]
        Role(row.role),  # type: ignore[attr-defined]
    )


def _hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
