"""Notes, site forms, messages and bulk steps in the ledger; jobs and the outbox in SQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from app import build_system
from domain import commands
from domain.contact_extras import ContactInputError
from domain.contact_work import NotReachableError
from domain.contacts import Contact
from domain.fields import FieldValueError
from tests.support.backends import backend_settings
from tests.support.races import at_once
from tests.support.world import T0, World


def form(world: World, account_id: UUID, kind: str = "contact", **fields: str) -> UUID:
    cmd = commands.SubmitForm(account_id, kind, fields, page="/p", message="hello")
    return world.ledger.submit_form(cmd, world.tick(), world.meta).id


def test_forms_of_one_key_make_one_contact_holding_every_submission(world: World) -> None:
    account_id = world.account()
    first = form(world, account_id, email="Ada@Example.org", first_name="Ada")
    second = form(world, account_id, "request", email="ada@example.org", company="Acme")
    assert first == second
    contact = world.ledger.contact(account_id, first)
    assert contact.fields["company"] == "Acme"
    assert [s.form for s in contact.submissions] == ["contact", "request"]
    assert contact.submissions[1].fields == {"email": "ada@example.org", "company": "Acme"}


def test_a_new_persons_form_makes_a_contact_holding_its_values_in_one_event(
    world: World,
) -> None:
    account_id = world.account()
    before = world.position()
    fields = {"email": "zoe@example.org", "first_name": "Zoé", "company": None}
    cmd = commands.SubmitForm(account_id, "contact", fields, page="/p", message="")
    contact_id = world.ledger.submit_form(cmd, world.tick(), world.meta).id
    assert sorted(world.facts_since(before)) == [
        "Account.ContactsStarted",
        "Contact.Created",  # holding the values: no FieldsChanged (decision 0026)
        "Contact.FormSubmitted",
    ]
    contact = world.ledger.contact(account_id, contact_id)
    assert contact.fields == {"email": "zoe@example.org", "first_name": "Zoé"}  # null: nothing
    assert contact.participants == {}


def test_concurrent_forms_of_a_new_person_make_one_contact(world: World) -> None:
    account_id = world.account()
    found = at_once(*[lambda: form(world, account_id, email="new@example.org")] * 4)
    assert len(found) == 4  # every racer answered (at_once raises a racer's error)
    assert len(set(found)) == 1
    assert len(world.ledger.contact(account_id, found[0]).submissions) == 4


def test_a_form_without_the_key_records_nothing(world: World) -> None:
    account_id = world.account()
    before = world.ledger.recorder.max_notification_id()
    with pytest.raises(FieldValueError, match="uniqueness key"):
        form(world, account_id, first_name="Ada")
    with pytest.raises(ContactInputError):
        form(world, account_id, "survey", email="ada@example.org")
    assert world.ledger.recorder.max_notification_id() == before


def test_a_note_is_kept_and_forgotten_with_the_person(world: World) -> None:
    account_id = world.account()
    contact_id = form(world, account_id, email="ada@example.org")
    note = commands.AddNote(account_id, contact_id, "Called back")
    world.ledger.add_note(note, world.tick(), world.meta)
    assert [n.text for n in world.ledger.contact(account_id, contact_id).notes] == ["Called back"]
    erase = commands.EraseContact(account_id, contact_id)
    world.ledger.erase_contact(erase, world.tick(), world.meta)
    erased = world.ledger.contact(account_id, contact_id)
    assert erased.notes == [] and erased.submissions == []


def bulk(
    world: World, account_id: UUID, ids: list[UUID], action: str, job_id: UUID, **params: object
) -> commands.ApplyToContacts:
    return commands.ApplyToContacts(account_id, tuple(ids), action, dict(params), job_id)


def test_a_bulk_step_done_again_changes_nothing(world: World) -> None:
    account_id = world.account()
    people = [form(world, account_id, email=f"{n}@example.org") for n in ("ada", "bob")]
    for contact_id in people:
        consent = commands.ChangeConsent(account_id, contact_id, True, "form")
        world.ledger.change_consent(consent, world.tick(), world.meta)
    job_id = uuid4()
    step = bulk(world, account_id, people, "marketing_email", job_id, campaign="Salon")
    first = world.ledger.apply_to_contacts(step, world.tick(), world.meta).detail
    head = world.ledger.recorder.max_notification_id()
    again = world.ledger.apply_to_contacts(step, world.tick(), world.meta).detail
    assert (first.changed, again.changed, again.unchanged) == (2, 0, 2)
    assert world.ledger.recorder.max_notification_id() == head
    for contact_id in people:
        assert len(world.ledger.contact(account_id, contact_id).messages) == 1


def test_a_bulk_step_skips_what_it_cannot_touch_and_does_the_rest(world: World) -> None:
    account_id = world.account()
    live = form(world, account_id, email="ada@example.org")
    deleted = form(world, account_id, email="bob@example.org")
    erased = form(world, account_id, email="cy@example.org")
    world.ledger.delete_contact(
        commands.DeleteContact(account_id, deleted), world.tick(), world.meta
    )
    world.ledger.erase_contact(commands.EraseContact(account_id, erased), world.tick(), world.meta)
    stranger = uuid4()
    ids = [live, deleted, erased, stranger]
    step = bulk(world, account_id, ids, "set_processing_status", uuid4(), status="processed")
    done = world.ledger.apply_to_contacts(step, world.tick(), world.meta).detail
    assert done.changed == 1
    assert done.skipped == {deleted: "deleted", erased: "erased", stranger: "not found"}
    assert world.ledger.contact(account_id, live).processing_status == "processed"


def test_a_bulk_edit_flows_down_to_participants_for_propagated_fields(world: World) -> None:
    account_id = world.account(sync={"company": "up_and_propagate"})
    event_id = world.event(account_id)
    participant_id = world.register(account_id, event_id, email="ada@example.org", company="A")
    contact = world.contact_of(account_id, participant_id)
    assert contact is not None
    step = bulk(world, account_id, [contact.id], "edit_fields", uuid4(), fields={"company": "B"})
    world.ledger.apply_to_contacts(step, world.tick(), world.meta)
    participant = world.ledger.participant(account_id, event_id, participant_id)
    assert participant.fields["company"] == "B"


def test_messages_need_an_address_and_marketing_needs_consent(world: World) -> None:
    account_id = world.account()
    contact_id = form(world, account_id, email="ada@example.org")
    contact = world.ledger.contact(account_id, contact_id)
    with pytest.raises(NotReachableError, match="consent"):
        contact.request_message(uuid4(), "marketing_email", "x", world.tick(), world.meta)
    nobody = Contact.create(account_id, world.tick(), world.meta)
    with pytest.raises(NotReachableError, match="email"):
        nobody.request_message(uuid4(), "password_reset", "", world.tick(), world.meta)


# --- jobs and the outbox, on the SQL stores ----------------------------------------------


def test_a_job_interrupted_midway_resumes_and_ends_as_one_clean_run(
    tmp_path: Path, db_kind: str
) -> None:
    with backend_settings(db_kind, tmp_path) as settings:
        system = build_system(settings, clock=lambda: T0)
        world = World(system.ledger)
        account_id = world.account()
        people = [form(world, account_id, email=f"p{n}@example.org") for n in range(250)]
        for contact_id in people[::2]:
            consent = commands.ChangeConsent(account_id, contact_id, True, "form")
            world.ledger.change_consent(consent, world.tick(), world.meta)
        head = system.ledger.recorder.max_notification_id() or 0
        selection = {"contact_ids": [str(i) for i in people]}
        job_id = system.jobs.store.create(
            account_id, "marketing_email", {"campaign": "Salon"}, selection, world.meta, T0, head
        )
        runner = system.jobs
        job = runner.store.claim(T0, runner.stale_seconds)
        assert job is not None and job.job_id == job_id
        total = runner.store.resolve(job, runner._selected(job), T0)
        first = runner.store.batch(job_id, 0, 100)
        step = commands.ApplyToContacts(account_id, tuple(first), job.action, job.params, job_id)
        system.ledger.apply_to_contacts(step, T0, world.meta)  # committed, progress not saved
        # ... the runner dies here; another takes the job over once it is stale.
        assert runner.store.claim(T0 + timedelta(seconds=1), runner.stale_seconds) is None
        runner.clock = lambda: T0 + timedelta(seconds=runner.stale_seconds + 1)
        assert runner.run_pending() == 1
        done = runner.store.get(account_id, job_id)
        assert (done.status, done.total, total) == ("done", 250, 250)
        assert done.processed == 250 and done.changed + done.unchanged == 125
        assert done.skipped == 125
        for contact_id in people:
            contact = system.ledger.contact(account_id, contact_id)
            assert len(contact.messages) == (1 if contact.consent else 0)
        system.outbox_projector.catch_up()
        system.projector.catch_up()
        page = system.outbox_projector.store.pending(account_id, 500, None)  # type: ignore[attr-defined]
        assert len(page.messages) == 125
        system.close()


def test_a_merge_moves_notes_and_forms_to_the_survivor(world: World) -> None:
    account_id = world.account()
    survivor = form(world, account_id, email="ada@example.org")
    variant = form(world, account_id, "request", email="ada.l@example.org")
    note = commands.AddNote(account_id, variant, "Prefers phone calls")
    written_at = world.tick()
    world.ledger.add_note(note, written_at, world.meta)
    merge = commands.MergeContacts(account_id, survivor, variant)
    world.ledger.merge_contacts(merge, world.tick(), world.meta)
    kept = world.ledger.contact(account_id, survivor)
    assert [(n.text, n.author, n.written_at) for n in kept.notes] == [
        ("Prefers phone calls", world.meta.actor, written_at)
    ]
    assert sorted(s.form for s in kept.submissions) == ["contact", "request"]
    step = bulk(world, account_id, [variant], "set_processing_status", uuid4(), status="processed")
    done = world.ledger.apply_to_contacts(step, world.tick(), world.meta).detail
    assert done.skipped == {variant: f"merged into {survivor}"}
    erase = commands.EraseContact(account_id, survivor)
    world.ledger.erase_contact(erase, world.tick(), world.meta)
    for contact_id in (survivor, variant):
        gone = world.ledger.contact(account_id, contact_id)
        assert gone.notes == [] and gone.submissions == []
