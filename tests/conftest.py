"""Fixtures: a parametrised backend (memory, SQLite, PostgreSQL), never silently skipped in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from adapters.ledger import SealedContactLedger, build_ledger
from adapters.settings import Settings
from tests.support.backends import backend_settings, postgres_reachable
from tests.support.world import World

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=60
)
settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    max_examples=60,
    derandomize=False,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_PG: dict[str, bool] = {}


def _postgres_available() -> bool:
    if "ok" not in _PG:
        _PG["ok"] = postgres_reachable()
        if not _PG["ok"] and IN_CI:
            pytest.exit("CI=true but PostgreSQL is not reachable: refusing to skip it", 3)
    return _PG["ok"]


def _require(kind: str) -> None:
    if kind == "postgres" and not _postgres_available():
        pytest.skip("PostgreSQL not reachable (outside CI only)")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_kind(request: pytest.FixtureRequest) -> str:
    _require(request.param)
    return str(request.param)


@pytest.fixture(params=["sqlite", "postgres"])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Only the real databases (for storage-level tests)."""
    _require(request.param)
    return str(request.param)


@pytest.fixture
def store_settings(store_kind: str, tmp_path: Path) -> Iterator[Settings]:
    with backend_settings(store_kind, tmp_path) as settings_:
        yield settings_


@pytest.fixture
def db_settings(db_kind: str, tmp_path: Path) -> Iterator[Settings]:
    with backend_settings(db_kind, tmp_path) as settings_:
        yield settings_


@pytest.fixture
def ledger(store_settings: Settings) -> Iterator[SealedContactLedger]:
    app = build_ledger(store_settings)
    yield app
    app.close()


@pytest.fixture
def db_ledger(db_settings: Settings) -> Iterator[SealedContactLedger]:
    """A ledger on the real databases only (a module overriding `ledger` returns it)."""
    app = build_ledger(db_settings)
    yield app
    app.close()


@pytest.fixture
def world(ledger: SealedContactLedger) -> World:
    return World(ledger)


@pytest.fixture
def memory_world(tmp_path: Path) -> Iterator[World]:
    with backend_settings("memory", tmp_path) as settings_:
        app = build_ledger(settings_)
        yield World(app)
        app.close()


@pytest.fixture(scope="session")
def require_postgres() -> None:
    """For hypothesis tests on PostgreSQL (session scope: allowed with @given)."""
    _require("postgres")
