"""A command is all or nothing: a crash in the middle of its transaction leaves no trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.ledger import SealedContactLedger, build_ledger
from adapters.settings import Settings
from tests.support.world import World


class PowerCutError(Exception):
    pass


@pytest.fixture
def db_ledger(db_settings: Settings) -> Iterator[SealedContactLedger]:
    app = build_ledger(db_settings)
    yield app
    app.close()


def test_a_failure_mid_transaction_writes_nothing_and_a_retry_succeeds(
    db_ledger: SealedContactLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = db_ledger
    world = World(ledger)
    account_id = world.account(sync={"company": "up_and_propagate"})
    salon, club = world.event(account_id), world.event(account_id)
    world.register(account_id, salon, email="expo@example.org", company="Acme")
    before = world.position()
    recorder = type(ledger.recorder)
    original = recorder._insert_events

    def cut_after_the_events(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("key_claims") is not None or kwargs.get("subject_keys"):
            original(self, *args, **kwargs)
        raise PowerCutError

    monkeypatch.setattr(recorder, "_insert_events", cut_after_the_events)
    if hasattr(recorder, "_insert_stored_events"):
        monkeypatch.setattr(recorder, "_insert_stored_events", _raise_after(recorder))
    with pytest.raises(PowerCutError):
        world.register(account_id, club, email="expo@example.org", company="Globex")
    monkeypatch.undo()
    assert world.facts_since(before) == []
    visitor = world.register(account_id, club, email="expo@example.org", company="Globex")
    contact = world.contact_of(account_id, visitor)
    assert contact is not None
    assert len(contact.participants) == 2


def _raise_after(recorder: type) -> Any:
    original = recorder._insert_stored_events

    def insert_then_fail(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        raise PowerCutError

    return insert_then_fail
