"""Settings, read once from the environment into a frozen object (tests pass their own)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

DEFAULT_DATA_DIR = "./data"


class SettingsError(ValueError):
    """Raised when an environment variable has a value we cannot use."""


@dataclass(frozen=True)
class Database:
    """Where everything is stored: `memory`, one SQLite file, or a PostgreSQL schema."""

    kind: str  # "memory", "sqlite" or "postgres"
    path: str = ""
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    name: str = "postgres"
    schema: str = "public"
    # PostgreSQL connections the event store keeps open per process (more are opened, up
    # to 20 beyond, while they are all busy): a server's requests share them.
    pool_size: int = 10

    @classmethod
    def from_url(cls, url: str) -> Database:
        parts = urlsplit(url)
        if parts.scheme == "memory":
            return cls("memory")
        if parts.scheme == "sqlite":
            path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
            if not path:
                raise SettingsError("DATABASE_URL sqlite:///PATH needs a file path")
            return cls("sqlite", path=path)
        if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
            schema = parse_qs(parts.query).get("schema", ["public"])[0]
            return cls(
                "postgres",
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password or ""),
                name=(parts.path or "/postgres")[1:] or "postgres",
                schema=schema,
            )
        raise SettingsError(
            f"DATABASE_URL scheme {parts.scheme!r} is not supported "
            "(use sqlite:///PATH, postgresql://USER@HOST:PORT/DB or memory://)"
        )

    def eventsourcing_env(self) -> dict[str, str]:
        if self.kind == "memory":
            return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        if self.kind == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": self.path,
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.name,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": "20",
            "POSTGRES_LOCK_TIMEOUT": "10",
            # No ping before each checkout (a round trip each, several per command): a
            # connection found lost when used is replaced and its statement run again
            # (adapters/recorders.reconnecting, decision 0052).
        }

    def sqlalchemy_url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        if self.kind == "memory":
            return "sqlite://"
        auth = quote(self.user, safe="") + (
            f":{quote(self.password, safe='')}" if self.password else ""
        )
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{quote(self.name, safe='')}"


@dataclass(frozen=True)
class Settings:
    database: Database = field(default_factory=lambda: Database("sqlite", "./data/ledger.sqlite"))
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    key_index_secret: bytes = b""
    key_cache_seconds: float = 60.0
    settled_cache_seconds: float = 2.0
    read_wait_seconds: float = 5.0
    feed_wait_seconds: float = 30.0  # the longest a change-feed long-poll waits
    max_body_bytes: int = 1_000_000
    purge_every_seconds: float = 3600.0  # inside `serve`; 0 turns it off
    scrub_every_hours: float = 168.0  # at most one storage scrub per this (decision 0035)
    idempotency_hours: float = 24.0  # how long an Idempotency-Key's answer is kept
    max_upload_bytes: int = 50 * 1024 * 1024  # an import's file
    token_cache_seconds: float = 5.0  # a revoked token still works this long in a process
    auth_failure_limit: int = 10  # refused tokens per client address and window; 0: off
    auth_failure_window_seconds: float = 60.0
    log_format: str = "text"  # or "json": one object per line (adapters/logs.py)
    metrics_token: str = ""  # the bearer token GET /metrics asks for; "": metrics are off

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("LEDGER_DATA_DIR", DEFAULT_DATA_DIR))
        url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'ledger.sqlite'}"
        database = Database.from_url(url)
        if database.kind == "postgres" and not env.get("LEDGER_SECRET"):
            # Every process and host sharing the database must use the same secret, or
            # the same person would get a different key-index entry per host.
            raise SettingsError("LEDGER_SECRET is required with PostgreSQL (>= 32 characters)")
        return cls(
            database=database,
            data_dir=data_dir,
            key_index_secret=_secret(env.get("LEDGER_SECRET"), data_dir),
            key_cache_seconds=_number(env, "LEDGER_KEY_CACHE_SECONDS", 60.0),
            settled_cache_seconds=_number(env, "LEDGER_SETTINGS_CACHE_SECONDS", 2.0),
            read_wait_seconds=_number(env, "LEDGER_READ_WAIT_SECONDS", 5.0),
            feed_wait_seconds=_feed_wait_seconds(env),
            purge_every_seconds=_number(env, "LEDGER_PURGE_EVERY_SECONDS", 3600.0),
            scrub_every_hours=_scrub_every_hours(env),
            idempotency_hours=_idempotency_hours(env),
            max_upload_bytes=_upload_bytes(env),
            token_cache_seconds=_bounded(env, "LEDGER_TOKEN_CACHE_SECONDS", 5.0, 0, 60),
            auth_failure_limit=int(_bounded(env, "LEDGER_AUTH_FAILURES", 10, 0, 1_000_000)),
            auth_failure_window_seconds=_bounded(env, "LEDGER_AUTH_WINDOW_SECONDS", 60, 1, 86400),
            log_format=_log_format(env),
            metrics_token=_metrics_token(env),
        )


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(env.get(name, default))
    except ValueError:
        raise SettingsError(f"{name} must be a number") from None


def _bounded(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    value = _number(env, name, default)
    if not low <= value <= high:  # NaN is refused too
        raise SettingsError(f"{name} must be from {low} to {high}")
    return value


def _upload_bytes(env: Mapping[str, str]) -> int:
    megabytes = _number(env, "LEDGER_IMPORT_MAX_MB", 50.0)
    if not 0 < megabytes <= 10_000:
        raise SettingsError("LEDGER_IMPORT_MAX_MB must be above 0 and at most 10000")
    return int(megabytes * 1024 * 1024)


def _feed_wait_seconds(env: Mapping[str, str]) -> float:
    seconds = _number(env, "LEDGER_FEED_WAIT_SECONDS", 30.0)
    if not 0 <= seconds <= 30:  # NaN is refused too
        raise SettingsError("LEDGER_FEED_WAIT_SECONDS must be from 0 to 30")
    return seconds


def _scrub_every_hours(env: Mapping[str, str]) -> float:
    hours = _number(env, "LEDGER_SCRUB_EVERY_HOURS", 168.0)
    if not 0 <= hours <= 672:  # 28 days: within the month the law gives; NaN refused too
        raise SettingsError("LEDGER_SCRUB_EVERY_HOURS must be from 0 to 672")
    return hours


def _idempotency_hours(env: Mapping[str, str]) -> float:
    hours = _number(env, "LEDGER_IDEMPOTENCY_HOURS", 24.0)
    if not 0 < hours <= 8760:  # a year at most; NaN is refused too
        raise SettingsError("LEDGER_IDEMPOTENCY_HOURS must be above 0 and at most 8760")
    return hours


def _log_format(env: Mapping[str, str]) -> str:
    value = env.get("LEDGER_LOG_FORMAT", "text").strip().lower() or "text"
    if value not in ("text", "json"):
        raise SettingsError("LEDGER_LOG_FORMAT must be text or json")
    return value


def _metrics_token(env: Mapping[str, str]) -> str:
    token = env.get("LEDGER_METRICS_TOKEN", "").strip()
    if token and (len(token) < 32 or not token.isascii() or not token.isprintable()):
        raise SettingsError("LEDGER_METRICS_TOKEN must be at least 32 printable ASCII characters")
    return token


def _secret(value: str | None, data_dir: Path) -> bytes:
    """LEDGER_SECRET, or a secret generated once into DATA_DIR/secret.key (mode 0600)."""
    if value:
        if len(value) < 32:
            raise SettingsError("LEDGER_SECRET must be at least 32 characters")
        return value.encode()
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = data_dir / f".secret.key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: the first process to link wins, others read it
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()
