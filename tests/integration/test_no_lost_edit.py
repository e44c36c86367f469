"""A contact edit that a newer edit had replaced is recorded, sealed, audited (0050)."""

from __future__ import annotations

from datetime import timedelta

from domain import commands
from domain.contacts import Contact
from domain.ledger_contacts import Superseded
from projections import audit
from tests.support.world import World


def test_an_older_edit_decided_later_is_recorded_as_superseded(world: World) -> None:
    account = world.account()
    event = world.event(account)
    contact = world.contact_of(account, world.register(account, event, email="ada@example.org"))
    assert contact is not None
    newer = world.tick()
    world.edit_contact(account, contact.id, newer, company="Globex", job_title="CTO")
    before = world.position()
    older = newer - timedelta(seconds=5)
    outcome = world.edit_contact(
        account, contact.id, older, company="Secretcorp", job_title="CTO", last_name="Roux"
    )
    assert outcome.detail == [Superseded("company", "Secretcorp", "Globex")]
    assert world.facts_since(before) == ["Contact.FieldsChanged", "Contact.EditSuperseded"]
    lost = world.domain_events_since(before)[-1]
    assert isinstance(lost, Contact.EditSuperseded)
    assert (lost.fields, lost.edited_at) == ({"company": "Secretcorp"}, older)
    stored = world.ledger.recorder.select_notifications(start=before + 1, limit=10)
    assert all(b"Secretcorp" not in n.state for n in stored)  # sealed like any value
    standing = world.ledger.contact(account, contact.id)
    assert (standing.fields["company"], standing.fields["last_name"]) == ("Globex", "Roux")


def test_the_audit_shows_what_was_asked_and_what_stands(world: World) -> None:
    account = world.account()
    event = world.event(account)
    contact = world.contact_of(account, world.register(account, event, email="ada@example.org"))
    assert contact is not None
    newer = world.tick()
    world.edit_contact(account, contact.id, newer, company="Globex")
    world.edit_contact(account, contact.id, newer - timedelta(seconds=1), company="Acme")
    subjects: dict = {}
    entries = [audit.apply(p, e, subjects) for p, e in enumerate(world.domain_events_since(0))]
    lost = entries[-1]
    assert lost.action == "Contact.EditSuperseded"
    assert lost.changes == {"company": ["Acme", "Globex"]}
    assert "fields" not in lost.details


def test_a_superseded_edit_is_unreadable_once_the_person_is_erased(world: World) -> None:
    account = world.account()
    event = world.event(account)
    contact = world.contact_of(account, world.register(account, event, email="ada@example.org"))
    assert contact is not None
    newer = world.tick()
    world.edit_contact(account, contact.id, newer, company="Globex")
    before = world.position()
    world.edit_contact(account, contact.id, newer - timedelta(seconds=1), company="Acme")
    erase = commands.EraseContact(account, contact.id)
    world.ledger.erase_contact(erase, world.tick(), world.meta)
    lost = world.domain_events_since(before)[0]
    assert isinstance(lost, Contact.EditSuperseded)
    assert lost.fields == {}
