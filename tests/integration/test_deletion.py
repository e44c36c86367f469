"""Deleting, restoring and erasing contacts and participants (F11, F12), write side."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain import commands
from domain.contact_keys import KeyTakenError
from domain.contact_lifecycle import ContactDeletedError
from domain.contacts import Contact
from domain.participants import Participant, ParticipantDeletedError
from domain.retention import ErasedError, RestoreWindowClosedError
from tests.support.world import World


class Person:
    """Ada, registered in two events: one contact, two participants."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.account_id = world.account(sync={"company": "up_and_propagate"})
        self.events = [world.event(self.account_id), world.event(self.account_id)]
        self.participants = [
            world.register(self.account_id, e, email="ada@example.org", company="Acme")
            for e in self.events
        ]
        contact = world.contact_of(self.account_id, self.participants[0])
        assert contact is not None
        self.contact_id = contact.id

    def delete(self) -> None:
        cmd = commands.DeleteContact(self.account_id, self.contact_id)
        self.world.ledger.delete_contact(cmd, self.world.tick(), self.world.meta)

    def restore(self, at: datetime | None = None) -> None:
        cmd = commands.RestoreContact(self.account_id, self.contact_id)
        self.world.ledger.restore_contact(cmd, at or self.world.tick(), self.world.meta)

    def erase(self, reason: str = "request") -> None:
        cmd = commands.EraseContact(self.account_id, self.contact_id, reason)
        self.world.ledger.erase_contact(cmd, self.world.tick(), self.world.meta)

    def contact(self) -> Contact:
        return self.world.ledger.contact(self.account_id, self.contact_id)

    def participant(self, index: int) -> Participant:
        return self.world.participant(self.account_id, self.participants[index])


def test_deleting_a_contact_cascades_to_its_participants_in_every_event(world: World) -> None:
    ada = Person(world)
    before = world.position()
    ada.delete()
    assert world.facts_since(before) == [
        "Contact.Deleted",
        "Participant.Deleted",
        "Participant.Deleted",
    ]
    contact = ada.contact()
    assert contact.deleted and contact.restore_until is not None
    assert all(ada.participant(i).deleted for i in (0, 1))
    again = world.position()
    ada.delete()
    assert world.facts_since(again) == []  # deleting twice records nothing
    with pytest.raises(ContactDeletedError):
        world.edit_contact(ada.account_id, ada.contact_id, company="Globex")
    with pytest.raises(ParticipantDeletedError):
        world.edit(ada.account_id, ada.events[0], ada.participants[0], company="Globex")


def test_restore_brings_everything_back_as_it_was(world: World) -> None:
    ada = Person(world)
    lone = world.register(ada.account_id, ada.events[1], email="bob@example.org")
    world.ledger.delete_participant(
        commands.DeleteParticipant(ada.account_id, ada.events[1], lone), world.tick(), world.meta
    )
    ada.delete()
    ada.restore()
    contact = ada.contact()
    assert not contact.deleted and contact.fields["company"] == "Acme"
    assert set(contact.participants) == set(ada.participants)
    assert not any(ada.participant(i).deleted for i in (0, 1))
    assert world.participant(ada.account_id, lone).deleted  # deleted on its own: stays so
    # the key is claimed again: a new registration links to the restored contact
    again = world.register(ada.account_id, world.event(ada.account_id), email="ADA@example.org")
    assert world.contact_of(ada.account_id, again).id == ada.contact_id


def test_restore_is_refused_at_the_deadline_and_after(world: World) -> None:
    ada = Person(world)
    ada.delete()
    deadline = ada.contact().restore_until
    with pytest.raises(RestoreWindowClosedError):
        ada.restore(at=deadline)
    ada.restore(at=deadline - timedelta(microseconds=1))
    assert not ada.contact().deleted


def test_a_new_registration_with_a_deleted_contacts_key_makes_a_new_contact(
    world: World,
) -> None:
    ada = Person(world)
    ada.delete()
    newcomer = world.register(ada.account_id, ada.events[0], email="ada@example.org")
    new_contact = world.contact_of(ada.account_id, newcomer)
    assert new_contact is not None and new_contact.id != ada.contact_id
    with pytest.raises(KeyTakenError) as refused:
        ada.restore()
    assert refused.value.holder_id == new_contact.id
    assert ada.contact().deleted


def test_erasure_forgets_the_person_and_keeps_the_facts(world: World) -> None:
    ada = Person(world)
    world.status(ada.account_id, ada.events[0], ada.participants[0], "attended")
    ada.erase()
    contact = ada.contact()
    assert contact.erased and contact.fields == {}
    first = ada.participant(0)
    assert first.erased and first.fields == {}
    assert first.status.value == "attended"
    assert first.organiser_event_id == ada.events[0]
    # reading the log again gives stand-ins: the keys are gone
    for event in world.domain_events_since(0):
        if event.originator_id in {ada.contact_id, *ada.participants}:
            assert "ada@example.org" not in repr(event)
    with pytest.raises(ErasedError):
        ada.restore()
    again = world.register(ada.account_id, ada.events[0], email="ada@example.org")
    assert world.contact_of(ada.account_id, again).id != ada.contact_id
    before = world.position()
    ada.erase()
    assert world.facts_since(before) == []


def test_the_purge_erases_only_what_is_due(world: World) -> None:
    ada = Person(world)
    ada.delete()
    deadline = ada.contact().restore_until
    early = commands.EraseContact(
        ada.account_id, ada.contact_id, "purge", due_at=deadline - timedelta(seconds=1)
    )
    world.ledger.erase_contact(early, world.tick(), world.meta)
    assert not ada.contact().erased
    due = commands.EraseContact(ada.account_id, ada.contact_id, "purge", due_at=deadline)
    world.ledger.erase_contact(due, world.tick(), world.meta)
    assert ada.contact().erased


def test_a_participant_deleted_alone_is_purged_after_its_window(world: World) -> None:
    ada = Person(world)
    cmd = commands.DeleteParticipant(ada.account_id, ada.events[0], ada.participants[0])
    world.ledger.delete_participant(cmd, world.tick(), world.meta)
    deleted = ada.participant(0)
    assert deleted.contact_id is None
    assert deleted.restore_until is not None
    purge = commands.EraseParticipant(ada.account_id, ada.participants[0], deleted.restore_until)
    world.ledger.erase_participant(purge, world.tick(), world.meta)
    assert ada.participant(0).erased
    assert not ada.participant(1).erased
    assert not ada.contact().deleted
