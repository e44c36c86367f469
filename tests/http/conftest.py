"""The real ASGI app on a SQLite file, with a fixed clock and tokens for each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from app import ContactLedgerSystem, build_system
from domain.meta import Meta
from tests.conftest import _require
from tests.support.backends import backend_settings
from tests.support.world import T0


@dataclass
class Api:
    system: ContactLedgerSystem
    client: TestClient
    account_id: UUID
    tokens: dict[str, str]

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, method: str, path: str, role: str = "admin", **kwargs: object) -> object:
        headers = {**self.as_(role), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self.client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


def _open(system: ContactLedgerSystem, name: str) -> tuple[UUID, dict[str, str]]:
    account_id = system.ledger.open_account(name, T0, Meta("setup", "admin", "cli", "c")).id
    roles = ("admin", "editor", "analyst", "compliance", "service")
    return account_id, {r: system.tokens.create(account_id, r, f"{r}-bot", T0) for r in roles}


@contextmanager
def running_api(
    kind: str,
    tmp_path: Path,
    clock: Callable[[], datetime] = lambda: T0,
    **settings_changes: Any,
) -> Iterator[Api]:
    """The whole system on a fresh store of this kind, its projectors and job runner running.

    Not on memory://: it is one SQLite connection, which their threads would share with
    the requests (one thread's commit would end another's transaction).
    """
    with backend_settings(kind, tmp_path) as settings:
        system = build_system(replace(settings, **settings_changes), clock=clock)
        try:  # a failing test still stops the threads before its store is dropped
            if kind != "memory":
                for projector in system.projectors.values():
                    projector.start()
                system.jobs.poll_seconds = 0.05
                system.jobs.start()
            account_id, tokens = _open(system, "Organiser")
            with TestClient(system.http) as client:
                yield Api(system, client, account_id, tokens)
        finally:
            system.close()


@pytest.fixture
def api(tmp_path: Path, db_kind: str) -> Iterator[Api]:
    """The whole HTTP stack on SQLite and on PostgreSQL."""
    with running_api(db_kind, tmp_path) as api_:
        yield api_


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_api(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Api]:
    """One system per module and backend, for many calls that change nothing."""
    _require(request.param)
    with running_api(request.param, tmp_path_factory.mktemp(request.param)) as api_:
        yield api_


@pytest.fixture
def other_account(api: Api) -> Api:
    account_id, tokens = _open(api.system, "Competitor")
    return Api(api.system, api.client, account_id, tokens)
