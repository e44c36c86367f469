"""Propagation (F6): up, up_and_propagate, contact edits, the latest edit wins, no loops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import commands
from domain.application import VersionMismatchError
from domain.contact_keys import KeyTakenError
from domain.fields import FieldValueError, UnknownFieldError
from tests.support.world import World

SYNC = {"company": "up_and_propagate", "phone_mobile": "up", "city": "off"}


def three_editions(world: World) -> tuple:
    account_id = world.account(sync=SYNC)
    events = [world.event(account_id) for _ in range(3)]
    people = [world.register(account_id, e, email="expo@example.org") for e in events]
    return account_id, events, people


def test_an_up_field_reaches_the_contact_but_not_other_participants(world: World) -> None:
    account_id, events, people = three_editions(world)
    world.edit(account_id, events[0], people[0], phone_mobile="+33 6 11 22 33 44")
    assert world.contact_of(account_id, people[0]).fields["phone_mobile"] == "+33 6 11 22 33 44"  # type: ignore[union-attr]
    assert "phone_mobile" not in world.participant(account_id, people[1]).fields


def test_a_propagated_field_reaches_every_other_participant(world: World) -> None:
    account_id, events, people = three_editions(world)
    before = world.position()
    world.edit(account_id, events[0], people[0], company="Acme")
    facts = world.domain_events_since(before)
    assert sorted(type(f).__qualname__ for f in facts) == [
        "Contact.FieldsChanged",
        "Participant.FieldsChanged",
        "Participant.FieldsChanged",
        "Participant.FieldsChanged",
    ]
    propagated = [f for f in facts if f.originator_id != people[0] and f.originator_id in people]
    assert {f.originator_id for f in propagated} == set(people[1:])
    assert all(f.meta.origin == "propagation" for f in propagated)
    assert all(f.meta.causation_id == f"participant:{people[0]}" for f in propagated)
    assert all(f.propagated_from["organiser_event_id"] == str(events[0]) for f in propagated)
    assert all(world.participant(account_id, p).fields["company"] == "Acme" for p in people)


def test_an_off_field_stays_in_its_event(world: World) -> None:
    account_id, events, people = three_editions(world)
    world.edit(account_id, events[0], people[0], city="Lyon")
    assert "city" not in world.contact_of(account_id, people[0]).fields  # type: ignore[union-attr]


def test_event_local_fields_never_go_up(world: World) -> None:
    account_id, events, people = three_editions(world)
    stand = commands.DefineField(account_id, "stand", "text", "Stand", organiser_event_id=events[0])
    world.ledger.define_field(stand, world.tick(), world.meta)
    world.edit(account_id, events[0], people[0], stand="B12")
    assert "stand" not in world.contact_of(account_id, people[0]).fields  # type: ignore[union-attr]
    with pytest.raises(UnknownFieldError):
        world.edit(account_id, events[1], people[1], stand="B12")


def test_a_contact_edit_flows_down_only_for_propagated_fields(world: World) -> None:
    account_id, _, people = three_editions(world)
    contact = world.contact_of(account_id, people[0])
    assert contact is not None
    world.edit_contact(account_id, contact.id, company="Globex", phone_mobile="+33 7 00 00 00 00")
    for participant_id in people:
        fields = world.participant(account_id, participant_id).fields
        assert fields["company"] == "Globex"
        assert "phone_mobile" not in fields


def test_a_new_participant_receives_the_contacts_propagated_values(world: World) -> None:
    account_id, _, people = three_editions(world)
    world.edit_contact(account_id, world.contact_of(account_id, people[0]).id, company="Globex")  # type: ignore[union-attr]
    newcomer = world.register(account_id, world.event(account_id), email="EXPO@example.org")
    assert world.participant(account_id, newcomer).fields["company"] == "Globex"


def test_the_latest_edit_wins_even_when_it_arrives_first(world: World) -> None:
    account_id, events, people = three_editions(world)
    late_edit_time = world.tick()
    early_edit_time = late_edit_time - timedelta(seconds=30)
    world.edit(account_id, events[0], people[0], at=late_edit_time, company="Newer")
    world.edit(account_id, events[1], people[1], at=early_edit_time, company="Older")
    assert world.contact_of(account_id, people[0]).fields["company"] == "Newer"  # type: ignore[union-attr]
    assert all(world.participant(account_id, p).fields["company"] == "Newer" for p in people)


def test_a_change_that_changes_nothing_records_nothing(world: World) -> None:
    account_id, events, people = three_editions(world)
    world.edit(account_id, events[0], people[0], company="Acme")
    before = world.position()
    world.edit(account_id, events[1], people[1], company="Acme")
    world.edit_contact(account_id, world.contact_of(account_id, people[0]).id, company="Acme")  # type: ignore[union-attr]
    assert world.facts_since(before) == []


def test_a_contact_cannot_take_another_contacts_key(world: World) -> None:
    account_id = world.account(sync=SYNC)
    event_id = world.event(account_id)
    ada = world.register(account_id, event_id, email="ada@example.org")
    bob = world.register(account_id, event_id, email="bob@example.org")
    with pytest.raises(KeyTakenError, match="merge"):
        world.edit_contact(
            account_id, world.contact_of(account_id, bob).id, email="ADA@example.org"
        )  # type: ignore[union-attr]
    with pytest.raises(FieldValueError, match="uniqueness key"):
        world.edit_contact(account_id, world.contact_of(account_id, ada).id, email=None)  # type: ignore[union-attr]


def test_a_contact_key_edit_moves_its_index_entry(world: World) -> None:
    account_id = world.account(sync={"email": "up_and_propagate"})
    salon, club = world.event(account_id), world.event(account_id)
    ada = world.register(account_id, salon, email="ada@old.org")
    contact = world.contact_of(account_id, ada)
    world.edit_contact(account_id, contact.id, email="ada@new.org")  # type: ignore[union-attr]
    assert world.participant(account_id, ada).fields["email"] == "ada@new.org"
    again = world.register(account_id, club, email="ada@new.org")
    fresh = world.register(account_id, club, email="ada@old.org")
    assert world.contact_of(account_id, again) == world.contact_of(account_id, ada)
    assert world.contact_of(account_id, fresh) != world.contact_of(account_id, ada)


def test_if_match_refuses_a_stale_version(world: World) -> None:
    account_id, events, people = three_editions(world)
    version = world.participant(account_id, people[0]).version
    world.edit(account_id, events[0], people[0], company="Acme")
    stale = commands.ChangeParticipantFields(
        account_id, events[0], people[0], {"company": "Other"}, expected_version=version
    )
    with pytest.raises(VersionMismatchError, match=f"expected version {version}"):
        world.ledger.change_participant_fields(stale, world.tick(), world.meta)
