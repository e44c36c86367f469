"""Contact derivation (F3–F5): find-or-create by key, activation, backfill, relinking."""

from __future__ import annotations

import pytest

from domain import commands
from domain.application import SyncDisabledError
from tests.support.world import World


def test_one_person_in_two_events_is_one_contact(world: World) -> None:
    account_id = world.account()
    salon_2024, salon_2025 = world.event(account_id), world.event(account_id)
    before = world.position()
    exhibitor_2024 = world.register(account_id, salon_2024, email="Expo@Example.org ")
    # a new person: the contact is made linked and holding the values (decision 0026)
    assert sorted(world.facts_since(before)) == [
        "Account.ContactsStarted",
        "Contact.Created",
        "Participant.Registered",
    ]
    before = world.position()
    exhibitor_2025 = world.register(account_id, salon_2025, email="expo@example.org")
    # a returning person: registered already linked; the newer spelling goes up
    assert sorted(world.facts_since(before)) == [
        "Contact.FieldsChanged",
        "Contact.ParticipantLinked",
        "Participant.Registered",
    ]
    contact = world.contact_of(account_id, exhibitor_2024)
    assert contact is not None
    assert contact == world.contact_of(account_id, exhibitor_2025)
    assert set(contact.participants) == {exhibitor_2024, exhibitor_2025}


def test_a_stricter_key_keeps_spelling_variants_apart(world: World) -> None:
    account_id = world.account(key=("email", "first_name", "last_name"))
    event_id = world.event(account_id, several_bookings=True)
    one = world.register(account_id, event_id, email="a@x.org", first_name="Zoé", last_name="Roux")
    other = world.register(
        account_id, event_id, email="a@x.org", first_name="Zoe", last_name="Roux"
    )
    same = world.register(
        account_id, event_id, email="A@x.org", first_name=" zoé ", last_name="ROUX"
    )
    assert world.contact_of(account_id, one) != world.contact_of(account_id, other)
    assert world.contact_of(account_id, one) == world.contact_of(account_id, same)


def test_a_participant_without_its_key_gets_a_contact_once_it_has_it(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, first_name="Ada")
    assert world.contact_of(account_id, visitor) is None
    world.edit(account_id, event_id, visitor, email="ada@example.org")
    contact = world.contact_of(account_id, visitor)
    assert contact is not None
    assert contact.fields["email"] == "ada@example.org"


def test_activation_is_not_retroactive_and_backfill_catches_up(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id, sync=False)
    early = world.register(account_id, event_id, email="early@example.org")
    world.sync(account_id, event_id, True)
    late = world.register(account_id, event_id, email="late@example.org")
    world.edit(account_id, event_id, early, company="Acme")
    assert world.contact_of(account_id, early) is None
    assert world.contact_of(account_id, late) is not None
    outcome = world.backfill(account_id, event_id)
    assert outcome.detail == 1
    assert world.contact_of(account_id, early) is not None
    before = world.position()
    assert world.backfill(account_id, event_id).detail == 0
    assert world.facts_since(before) == []


def test_backfill_of_one_segment_syncs_only_that_segment(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id, sync=False)
    press = world.register(account_id, event_id, email="p@example.org", company="Le Monde")
    visitor = world.register(account_id, event_id, email="v@example.org")
    with pytest.raises(SyncDisabledError, match="enable it first"):
        world.backfill(account_id, event_id)
    world.sync(account_id, event_id, True)
    world.backfill(account_id, event_id, {"field": "company", "op": "eq", "value": "le monde"})
    assert world.contact_of(account_id, press) is not None
    assert world.contact_of(account_id, visitor) is None


def test_a_segment_scope_syncs_those_who_enter_it_after_activation(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id, sync=False)
    already_in = world.register(account_id, event_id, email="in@example.org")
    world.status(account_id, event_id, already_in, "attended")
    segment = {"field": "status", "op": "eq", "value": "attended"}
    world.sync(account_id, event_id, True, "segment", segment)
    newcomer = world.register(account_id, event_id, email="new@example.org")
    assert world.contact_of(account_id, newcomer) is None
    world.status(account_id, event_id, newcomer, "attended")
    assert world.contact_of(account_id, newcomer) is not None
    world.edit(account_id, event_id, already_in, company="Acme")
    assert world.contact_of(account_id, already_in) is None


def test_a_key_change_moves_the_link_to_the_matching_contact(world: World) -> None:
    account_id = world.account()
    salon, club = world.event(account_id), world.event(account_id)
    ada = world.register(account_id, salon, email="ada@example.org")
    typo = world.register(account_id, club, email="ada@exemple.org")
    old = world.contact_of(account_id, typo)
    assert old is not None
    assert old != world.contact_of(account_id, ada)
    world.edit(account_id, club, typo, email="ada@example.org")
    assert world.contact_of(account_id, typo) == world.contact_of(account_id, ada)
    assert typo not in world.ledger.contact(account_id, old.id).participants


def test_clearing_the_key_unlinks(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, email="v@example.org")
    world.edit(account_id, event_id, visitor, email=None)
    assert world.contact_of(account_id, visitor) is None


def test_deleting_a_participant_takes_it_off_its_contact(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, email="v@example.org")
    contact = world.contact_of(account_id, visitor)
    assert contact is not None
    world.ledger.delete_participant(
        commands.DeleteParticipant(account_id, event_id, visitor), world.tick(), world.meta
    )
    assert world.ledger.contact(account_id, contact.id).participants == {}
    assert world.participant(account_id, visitor).contact_id is None


def test_registrations_in_one_batch_share_contacts(world: World) -> None:
    account_id = world.account()
    event_a, event_b = (world.event(account_id, several_bookings=True) for _ in "ab")
    batch = [
        commands.RegisterParticipant(account_id, event_id, {"email": email})
        for event_id in (event_a, event_b)
        for email in ("a@example.org", "b@example.org", "A@EXAMPLE.org")
    ]
    outcomes = world.ledger.register_participants(batch, world.tick(), world.meta)
    contacts = {world.contact_of(account_id, o.id).id for o in outcomes}  # type: ignore[union-attr]
    assert len(contacts) == 2


def test_no_personal_data_in_ids_or_the_key_index(world: World) -> None:
    account_id = world.account()
    event_id = world.event(account_id)
    visitor = world.register(account_id, event_id, email="secret.person@example.org")
    contact = world.contact_of(account_id, visitor)
    assert contact is not None
    for identifier in (str(visitor), str(contact.id)):
        assert "secret" not in identifier
    for notification in world.ledger.recorder.select_notifications(start=1, limit=1000):
        assert b"secret.person" not in notification.state
