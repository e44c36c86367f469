"""Import batches (F19): rows matched by key, created, updated, unchanged or skipped."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain import commands
from domain.fields import FieldValueError
from domain.import_rows import ImportedRow, RowImport
from domain.imports import ImportInputError
from domain.participants import Participant
from domain.sync import ContactSync, StaleSettingsError
from tests.support.races import at_once
from tests.support.world import World

ADA = {"email": "ada@example.org", "first_name": "Ada", "company": "Analytical"}
GRACE = {"email": "grace@example.org", "first_name": "Grace", "company": "Navy"}


def outcomes(rows: list) -> list[str]:
    return [row.outcome.value for row in rows]


def participants_in(world: World, event_id: UUID) -> list[Participant]:
    ids = world.ledger.participant_ids(event_id)
    return [p for p in (world.ledger.repository.get(i) for i in ids) if not p.deleted]


def test_an_import_registers_new_people_and_derives_their_contacts(world: World) -> None:
    account = world.account(sync={"company": "up_and_propagate"})
    salon = world.event(account)
    rows = world.import_rows(account, salon, ADA, GRACE)
    assert outcomes(rows) == ["created", "created"]
    assert [row.line for row in rows] == [2, 3]
    ada = world.participant(account, rows[0].record_id)
    assert ada.source.value == "import"
    assert ada.status.value == "registered"
    contact = world.contact_of(account, ada.id)
    assert contact is not None
    assert contact.fields["company"] == "Analytical"


def test_importing_the_same_rows_again_records_nothing(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    world.import_rows(account, salon, ADA, GRACE)
    position = world.position()
    again = world.import_rows(account, salon, ADA, GRACE)
    assert outcomes(again) == ["unchanged", "unchanged"]
    assert world.position() == position
    assert len(participants_in(world, salon)) == 2


def test_a_row_differing_only_in_case_updates_the_same_person(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    [first] = world.import_rows(account, salon, ADA)
    [second] = world.import_rows(account, salon, {**ADA, "email": "ADA@Example.ORG"})
    assert second.record_id == first.record_id
    assert second.outcome.value == "updated"
    assert len(participants_in(world, salon)) == 1


def test_a_person_is_imported_once_per_file_the_later_rows_are_skipped(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    later = {**ADA, "email": "ADA@example.org", "company": "Babbage & Co"}
    rows = world.import_rows(account, salon, ADA, later)
    assert outcomes(rows) == ["created", "skipped"]
    assert rows[1].reason == "same identifier as row 2: a person is imported once"
    assert len(participants_in(world, salon)) == 1
    assert world.participant(account, rows[0].record_id).fields["company"] == "Analytical"
    position = world.position()  # so the same file again changes nothing
    assert outcomes(world.import_rows(account, salon, ADA, later)) == ["unchanged", "skipped"]
    assert world.position() == position


def test_an_import_finds_people_registered_through_the_api(world: World) -> None:
    account = world.account()
    salon = world.event(account, sync=False)
    registered = world.register(account, salon, **ADA)
    [row] = world.import_rows(account, salon, {**ADA, "company": "Babbage & Co"})
    assert (row.outcome.value, row.record_id) == ("updated", registered)


def test_an_import_does_not_match_a_deleted_participant(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    [row] = world.import_rows(account, salon, ADA)
    cmd = commands.DeleteParticipant(account, salon, row.record_id)
    world.ledger.delete_participant(cmd, world.tick(), world.meta)
    [again] = world.import_rows(account, salon, ADA)
    assert again.outcome.value == "created"
    assert again.record_id != row.record_id


def test_a_participant_found_under_a_changed_key_value(world: World) -> None:
    account = world.account()
    salon = world.event(account, sync=False)
    [row] = world.import_rows(account, salon, ADA)
    world.edit(account, salon, row.record_id, email="ada@lovelace.org")
    [moved] = world.import_rows(account, salon, {**ADA, "email": "ada@lovelace.org"})
    [old] = world.import_rows(account, salon, ADA)
    assert (moved.outcome.value, moved.record_id) == ("unchanged", row.record_id)
    assert old.outcome.value == "created"


def test_update_only_skips_newcomers_and_create_only_skips_known_people(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    world.import_rows(account, salon, ADA)
    position = world.position()
    rows = world.import_rows(account, salon, GRACE, mode="update_only")
    assert outcomes(rows) == ["skipped"]
    assert "update_only" in rows[0].reason
    rows = world.import_rows(account, salon, {**ADA, "company": "X"}, mode="create_only")
    assert outcomes(rows) == ["skipped"]
    assert "create_only" in rows[0].reason
    assert world.position() == position


def test_rows_without_identifier_or_with_bad_values_are_skipped_with_reasons(
    world: World,
) -> None:
    account = world.account()
    salon = world.event(account)
    position = world.position()
    rows = world.import_rows(
        account,
        salon,
        {"first_name": "Nobody"},
        {"email": "   "},
        {"email": "not-an-email", "first_name": "Ada"},
    )
    assert outcomes(rows) == ["skipped"] * 3
    assert rows[0].reason == rows[1].reason == "no identifier: email is empty"
    assert rows[2].reason == "field 'email': is not an email address"
    assert "not-an-email" not in rows[2].reason  # reasons never quote a value
    assert world.position() == position


def test_an_import_adds_each_row_to_the_group(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    speakers = world.group(account, "Speakers")
    rows = world.import_rows(account, salon, ADA, group_id=speakers)
    contact = world.contact_of(account, rows[0].record_id)
    assert contact is not None and speakers in contact.groups
    again = world.import_rows(account, salon, ADA, group_id=speakers)
    assert outcomes(again) == ["unchanged"]


def test_importing_contacts_creates_updates_and_leaves_unchanged(world: World) -> None:
    account = world.account()
    rows = world.import_rows(account, None, ADA, GRACE)
    assert outcomes(rows) == ["created", "created"]
    ada = world.ledger.contact(account, rows[0].record_id)
    assert ada.fields["first_name"] == "Ada"
    rows = world.import_rows(account, None, {**ADA, "company": "Babbage & Co"}, GRACE)
    assert outcomes(rows) == ["updated", "unchanged"]
    assert rows[0].record_id == ada.id


def test_a_deleted_contact_gave_up_its_key_so_the_row_makes_a_new_one(world: World) -> None:
    account = world.account()
    [row] = world.import_rows(account, None, ADA)
    world.ledger.delete_contact(
        commands.DeleteContact(account, row.record_id), world.tick(), world.meta
    )
    [again] = world.import_rows(account, None, ADA)
    assert again.outcome.value == "created"
    assert again.record_id != row.record_id


def test_bad_options_refuse_the_batch(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    with pytest.raises(ImportInputError, match="mode must be one of"):
        world.import_rows(account, salon, ADA, mode="replace")


def test_racing_imports_of_one_person_make_one_participant(world: World) -> None:
    account = world.account()
    salon = world.event(account)
    results = at_once(*[lambda: world.import_rows(account, salon, ADA) for _ in range(3)])
    assert len({rows[0].record_id for rows in results}) == 1
    assert sorted(rows[0].outcome.value for rows in results)[0] == "created"
    assert len(participants_in(world, salon)) == 1


def test_a_row_failing_half_way_is_skipped_and_leaves_no_trace(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = world.account()
    salon = world.event(account)
    rows = world.import_rows(account, salon, ADA, GRACE)
    original = ContactSync.participant_changed

    def fail_for_ada(self: ContactSync, participant: Participant, *args: object) -> None:
        if participant.fields["email"] == ADA["email"]:
            raise FieldValueError("company", "is refused by a rule only sync knows")
        original(self, participant, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ContactSync, "participant_changed", fail_for_ada)
    position = world.position()
    again = world.import_rows(account, salon, {**ADA, "company": "X"}, {**GRACE, "company": "Y"})
    assert outcomes(again) == ["skipped", "updated"]
    assert "refused by a rule" in again[0].reason
    assert world.participant(account, rows[0].record_id).fields["company"] == "Analytical"
    assert world.facts_since(position).count("Participant.FieldsChanged") == 1


def test_a_batch_that_lost_a_race_is_decided_again_on_fresh_state(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer saves one of the batch's people after the batch was decided and
    before it is committed: the commit loses the race (the key is claimed), and the group
    commit decides the batch again, which finds that person unchanged."""
    account = world.account()
    salon = world.event(account)
    world.import_rows(account, salon, GRACE)
    original = RowImport.run
    decided: list[list[str]] = []

    def racing(self: RowImport) -> list[ImportedRow]:
        rows = original(self)
        decided.append(outcomes(rows))
        if len(decided) == 1:
            world.import_rows(account, salon, ADA)  # meanwhile, another writer
        return rows

    monkeypatch.setattr(RowImport, "run", racing)
    rows = world.import_rows(account, salon, ADA, GRACE)
    assert decided == [["created", "unchanged"], ["created"], ["unchanged", "unchanged"]]
    assert outcomes(rows) == ["unchanged", "unchanged"]
    assert len(participants_in(world, salon)) == 2


def test_a_batch_decided_on_stale_settings_is_decided_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = world.account()
    salon = world.event(account)
    original = RowImport.run
    calls: list[int] = []

    def stale_once(self: RowImport) -> list[ImportedRow]:
        calls.append(1)
        if len(calls) == 1:
            raise StaleSettingsError("the uniqueness key changed while deciding")
        return original(self)

    monkeypatch.setattr(RowImport, "run", stale_once)
    assert outcomes(world.import_rows(account, salon, ADA)) == ["created"]
    assert len(calls) == 2
