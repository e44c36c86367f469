"""A command is all or nothing: a failure at the end of its transaction leaves no trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from adapters.ledger import SealedContactLedger, build_ledger
from adapters.settings import Settings
from tests.support.backends import PG_URL
from tests.support.world import World


class PowerCutError(Exception):
    pass


@pytest.fixture
def db_ledger(db_settings: Settings) -> Iterator[SealedContactLedger]:
    app = build_ledger(db_settings)
    yield app
    app.close()


def test_a_failure_at_the_end_of_the_transaction_writes_nothing(
    db_ledger: SealedContactLedger, db_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(db_ledger)
    account_id = world.account(sync={"company": "up_and_propagate"})
    salon, club = world.event(account_id), world.event(account_id)
    world.register(account_id, salon, email="expo@example.org", company="Acme")
    before = world.position()
    with (
        _power_cut_after_the_last_insert(db_ledger, db_settings, monkeypatch),
        pytest.raises(Exception, match="power cut"),
    ):
        world.register(account_id, club, email="expo@example.org", company="Globex")
    assert world.facts_since(before) == []
    visitor = world.register(account_id, club, email="expo@example.org", company="Globex")
    contact = world.contact_of(account_id, visitor)
    assert contact is not None
    assert len(contact.participants) == 2


class _PowerCut:
    def __init__(self, ledger: SealedContactLedger, settings: Settings, monkeypatch: Any) -> None:
        self.ledger, self.settings, self.monkeypatch = ledger, settings, monkeypatch

    def __enter__(self) -> None:
        if self.settings.database.kind == "postgres":
            self._postgres(
                "CREATE TRIGGER power_cut AFTER INSERT ON {schema}.contactledger_events"
                " FOR EACH STATEMENT EXECUTE FUNCTION {schema}.power_cut()"
            )
        else:
            recorder = type(self.ledger.recorder)
            original = recorder._insert_events

            def insert_then_fail(recorder_self: Any, *args: Any, **kwargs: Any) -> Any:
                original(recorder_self, *args, **kwargs)
                raise PowerCutError("power cut")

            self.monkeypatch.setattr(recorder, "_insert_events", insert_then_fail)

    def __exit__(self, *_: object) -> None:
        if self.settings.database.kind == "postgres":
            self._postgres("DROP TRIGGER power_cut ON {schema}.contactledger_events")
        self.monkeypatch.undo()

    def _postgres(self, statement: str) -> None:
        schema = self.settings.database.schema
        with psycopg.connect(PG_URL, autocommit=True) as connection:
            connection.execute(
                f"CREATE OR REPLACE FUNCTION {schema}.power_cut() RETURNS trigger"
                " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'power cut'; END $$"
            )
            connection.execute(statement.format(schema=schema))


def _power_cut_after_the_last_insert(
    ledger: Any, settings: Settings, monkeypatch: Any
) -> _PowerCut:
    return _PowerCut(ledger, settings, monkeypatch)
