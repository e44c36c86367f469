"""Personal fields are sealed per data subject; destroying a key leaves only the facts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.keystore import TamperedDataError
from adapters.ledger import SealedContactLedger, build_ledger
from domain.participants import Participant, Status
from tests.support.backends import backend_settings
from tests.support.world import World

PII = ("Ada.Lovelace@example.org", "Lovelace", "+33 6 12 34 56 78")


def registered_person(world: World) -> tuple:
    account_id = world.account(sync={"phone_mobile": "up_and_propagate"})
    event_id = world.event(account_id)
    visitor = world.register(
        account_id, event_id, email=PII[0], last_name=PII[1], phone_mobile=PII[2]
    )
    world.status(account_id, event_id, visitor, "attended")
    return account_id, event_id, visitor


def test_stored_events_hold_no_plaintext_personal_data(world: World) -> None:
    registered_person(world)
    for notification in world.ledger.recorder.select_notifications(start=1, limit=1000):
        for value in PII:
            assert value.encode() not in notification.state
            assert value.lower().encode() not in notification.state


def test_sealed_values_read_back_through_the_repository_and_the_log(world: World) -> None:
    account_id, _, visitor = registered_person(world)
    assert world.participant(account_id, visitor).fields["last_name"] == "Lovelace"
    registered = [e for e in world.domain_events_since(0) if isinstance(e, Participant.Registered)]
    assert registered[0].fields["email"] == PII[0]


def test_shredding_a_subject_keeps_the_facts_and_loses_the_person(world: World) -> None:
    account_id, event_id, visitor = registered_person(world)
    contact = world.contact_of(account_id, visitor)
    assert contact is not None
    world.ledger.keyring.shred([visitor, contact.id], world.tick())
    participant = world.participant(account_id, visitor)
    assert participant.fields == {}
    assert participant.status is Status.ATTENDED
    assert participant.organiser_event_id == event_id
    assert world.ledger.contact(account_id, contact.id).fields == {}
    for event in world.domain_events_since(0):
        assert PII[1] not in repr(event)


def test_a_sealed_value_cannot_be_moved_to_another_event(ledger: SealedContactLedger) -> None:
    world = World(ledger)
    _, _, visitor = registered_person(world)
    stored = ledger.recorder.select_events(visitor)
    registered, attended = stored[0], stored[-1]
    sealed = ledger.mapper.transcoder.decode(registered.state)["_sealed"]
    moved_state = ledger.mapper.transcoder.decode(attended.state)
    moved_state["_sealed"] = sealed
    moved = type(attended)(
        originator_id=attended.originator_id,
        originator_version=attended.originator_version,
        topic=registered.topic.replace("Registered", "FieldsChanged"),
        state=ledger.mapper.transcoder.encode(
            moved_state | {"edited_at": moved_state["timestamp"], "propagated_from": None}
        ),
    )
    with pytest.raises(TamperedDataError):
        ledger.mapper.to_domain_event(moved)


def test_sqlite_files_hold_no_plaintext(tmp_path: Path) -> None:
    with backend_settings("sqlite", tmp_path) as settings:
        ledger = build_ledger(settings)
        registered_person(World(ledger))
        ledger.close()
        with sqlite3.connect(settings.database.path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for path in tmp_path.glob("ledger.sqlite*"):
            raw = path.read_bytes()
            for value in PII:
                assert value.encode() not in raw, path
