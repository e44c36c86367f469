"""The real ASGI app on a SQLite file, with a fixed clock and tokens for each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from app import ContactLedgerSystem, build_system
from domain.meta import Meta
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
    kind: str, tmp_path: Path, clock: Callable[[], datetime] = lambda: T0
) -> Iterator[Api]:
    with backend_settings(kind, tmp_path) as settings:
        system = build_system(settings, clock=clock)
        # memory:// is one SQLite connection: projector threads would share it with requests
        for projector in system.projectors.values() if kind != "memory" else ():
            projector.start()
        account_id, tokens = _open(system, "Organiser")
        with TestClient(system.http) as client:
            yield Api(system, client, account_id, tokens)
        system.close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api("sqlite", tmp_path) as api_:
        yield api_


@pytest.fixture
def other_account(api: Api) -> Api:
    account_id, tokens = _open(api.system, "Competitor")
    return Api(api.system, api.client, account_id, tokens)
