"""One booking per person and event unless the event allows several (decision 0050)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.ledger import build_ledger
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


def test_an_event_stored_before_the_setting_takes_one_booking_each(world: World) -> None:
    account = world.account()
    event = world.event(account, several_bookings=True)
    mapper = world.ledger.mapper
    created = world.ledger.recorder.select_events(event)[0]
    state = mapper.transcoder.decode(created.state)
    del state["several_bookings"]  # as an event stored before the setting existed
    older = type(created)(
        originator_id=created.originator_id,
        originator_version=created.originator_version,
        topic=created.topic,
        state=mapper.transcoder.encode(state),
    )
    assert mapper.to_domain_event(older).several_bookings is False
    assert mapper.to_domain_event(created).several_bookings is True


def test_the_same_person_books_other_events(world: World) -> None:
    account = world.account()
    salon, forum = world.event(account), world.event(account)
    world.register(account, salon, email="ada@example.org")
    world.register(account, forum, email="ada@example.org")
    third = world.register(account, world.event(account), email="ada@example.org")
    contact = world.contact_of(account, third)
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


def test_an_edit_that_would_make_a_second_booking_is_refused(world: World) -> None:
    account = world.account()
    event = world.event(account)
    ada = world.register(account, event, email="ada@example.org")
    bob = world.register(account, event, email="bob@example.org")
    before = world.position()
    with pytest.raises(AlreadyBookedError) as refused:
        world.edit(account, event, bob, email="Ada@Example.org")
    assert refused.value.participant_id == ada
    assert world.facts_since(before) == []
    world.edit(account, event, ada, email="ADA@example.org", company="Acme")  # still Ada
    world.edit(account, event, bob, email="robert@example.org")  # a free key: moves
    with pytest.raises(AlreadyBookedError) as again:
        world.register(account, event, email="robert@example.org")
    assert again.value.participant_id == bob
    world.register(account, event, email="bob@example.org")  # the old key was released


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


def test_a_registration_in_another_process_that_commits_first_wins(
    tmp_path: Path, db_kind: str
) -> None:
    """Two ledgers on one database stand for two processes: the second decides its
    registration on an index without the first's booking, which commits just before it."""
    with backend_settings(db_kind, tmp_path) as settings:
        here, there = build_ledger(settings), build_ledger(settings)
        world = World(here)
        account = world.account()
        event = world.event(account, sync=False)  # no contact key to race on: only the booking
        cmd = commands.RegisterParticipant(account, event, {"email": "ada@example.org"})
        save = there.save_aggregates
        first: list[UUID] = []

        def other_process_first(*args: Any, **kwargs: Any) -> Any:
            if not first:
                first.append(here.register_participant(cmd, world.tick(), META).id)
            return save(*args, **kwargs)

        there.save_aggregates = other_process_first  # type: ignore[method-assign]
        with pytest.raises(AlreadyBookedError) as refused:
            there.register_participant(cmd, world.tick(), META)
        assert refused.value.participant_id == first[0]
        assert world.facts_since(0).count("Participant.Registered") == 1
        here.close()
        there.close()
