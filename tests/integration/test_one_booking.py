"""One booking per person and event unless the event allows several (decision 0050)."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.ledger import build_ledger
from adapters.settings import Settings
from domain import commands
from domain.imports import RowOutcome
from domain.ledger_participants import AlreadyBookedError
from domain.meta import Meta
from tests.support.backends import backend_settings
from tests.support.races import at_once
from tests.support.world import World

RACERS = 8
META = Meta("race", "service", "http", "corr")


def test_refuses_a_second_registration_naming_the_first(world: World) -> None:
    account = world.account()
    event = world.event(account)
    visitor = world.register(account, event, email="ada@example.org", company="Acme")
    before = world.position()
    with pytest.raises(AlreadyBookedError) as refused:
        world.register(account, event, email=" ADA@example.org ", company="Other")
    assert refused.value.participant_id == visitor
    assert world.facts_since(before) == []


def test_the_same_person_books_other_events(world: World) -> None:
    account = world.account()
    salon, forum = world.event(account), world.event(account)
    world.register(account, salon, email="ada@example.org")
    world.register(account, forum, email="ada@example.org")
    contact = world.contact_of(account, world.register(account, world.event(account), email="ada@example.org"))
    assert contact is not None and len(contact.participants) == 3


def test_an_event_with_several_bookings_takes_the_person_again(world: World) -> None:
    account = world.account()
    event = world.event(account, several_bookings=True)
    first = world.register(account, event, email="ada@example.org")
    second = world.register(account, event, email="ada@example.org")
    assert first != second
    assert world.ledger.organiser_event(account, event).several_bookings
    assert world.contact_of(account, first) == world.contact_of(account, second)


def test_a_deleted_booking_lets_the_person_book_again(world: World) -> None:
    account = world.account()
    event = world.event(account)
    first = world.register(account, event, email="ada@example.org")
    cmd = commands.DeleteParticipant(account, event, first)
    world.ledger.delete_participant(cmd, world.tick(), world.meta)
    again = world.register(account, event, email="ada@example.org")
    assert again != first
    with pytest.raises(AlreadyBookedError) as refused:
        world.register(account, event, email="ada@example.org")
    assert refused.value.participant_id == again


def test_registrations_without_a_key_are_not_bookings_of_one_person(world: World) -> None:
    account = world.account()
    event = world.event(account, sync=False)
    world.register(account, event, first_name="Ada")
    world.register(account, event, first_name="Ada")


def test_an_import_row_of_a_booked_person_updates_the_booking(world: World) -> None:
    account = world.account()
    event = world.event(account)
    visitor = world.register(account, event, email="ada@example.org")
    rows = world.import_rows(account, event, {"email": "ada@example.org", "company": "Acme"})
    assert (rows[0].outcome, rows[0].record_id) == (RowOutcome.UPDATED, visitor)
    rows = world.import_rows(account, event, {"email": "ada@example.org"}, mode="create_only")
    assert (rows[0].outcome, rows[0].record_id) == (RowOutcome.SKIPPED, visitor)


def test_an_imported_person_registering_again_is_refused(world: World) -> None:
    account = world.account()
    for several in (False, True):
        event = world.event(account, several_bookings=several)
        rows = world.import_rows(account, event, {"email": "ada@example.org"})
        assert rows[0].outcome is RowOutcome.CREATED
        if several:
            world.register(account, event, email="ada@example.org")
        else:
            with pytest.raises(AlreadyBookedError):
                world.register(account, event, email="ada@example.org")


def test_many_registrations_in_one_call_are_refused_together(world: World) -> None:
    account = world.account()
    event = world.event(account)
    same = [commands.RegisterParticipant(account, event, {"email": "ada@example.org"})] * 2
    before = world.position()
    with pytest.raises(AlreadyBookedError):
        world.ledger.register_participants(same, world.tick(), world.meta)
    assert world.facts_since(before) == []


def test_threads_racing_on_one_person_make_one_booking(world: World) -> None:
    account = world.account(sync={"company": "up_and_propagate"})
    event = world.event(account)

    def register() -> UUID | Exception:
        cmd = commands.RegisterParticipant(account, event, {"email": "ada@example.org"})
        try:
            return world.ledger.register_participant(cmd, world.now, world.meta).id
        except AlreadyBookedError as error:
            return error

    results = at_once(*[register] * RACERS)
    booked = [r for r in results if isinstance(r, UUID)]
    refused = [r for r in results if isinstance(r, AlreadyBookedError)]
    assert len(booked) == 1
    assert len(refused) == RACERS - 1
    assert {r.participant_id for r in refused} == set(booked)


def _register_when_released(
    settings: Settings, account: str, event: str, gate: Any, results: Any
) -> None:
    ledger = build_ledger(settings)
    try:
        gate.wait(timeout=60)
        cmd = commands.RegisterParticipant(UUID(account), UUID(event), {"email": "a@b.org"})
        try:
            results.put(str(ledger.register_participant(cmd, datetime.now(UTC), META).id))
        except AlreadyBookedError as error:
            results.put(f"refused {error.participant_id}")
    finally:
        ledger.close()


def test_processes_racing_on_one_person_make_one_booking(tmp_path: Path, db_kind: str) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        ledger = build_ledger(settings)
        world = World(ledger)
        account = world.account()
        event = world.event(account)
        context = multiprocessing.get_context("spawn")
        writers = 4
        gate, queue = context.Barrier(writers), context.Queue()
        processes = [
            context.Process(
                target=_register_when_released,
                args=(settings, str(account), str(event), gate, queue),
            )
            for _ in range(writers)
        ]
        for process in processes:
            process.start()
        answers = [queue.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
            assert process.exitcode == 0
        booked = [a for a in answers if not a.startswith("refused")]
        assert len(booked) == 1
        assert sorted(answers) == sorted([booked[0], *[f"refused {booked[0]}"] * (writers - 1)])
        ledger.close()
