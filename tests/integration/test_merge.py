"""Merging two contacts of one person (F10), and the way out of a refused restore (F11)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from adapters.settings import Settings
from app import ContactLedgerSystem, build_system
from domain import commands
from domain.application import InvalidInputError, VersionMismatchError
from domain.contact_keys import KeyTakenError
from domain.contact_lifecycle import ContactDeletedError
from domain.contact_merge import ContactMergedError
from domain.contacts import Contact
from domain.retention import ErasedError, RestoreWindowClosedError
from domain.sync import ContactSync
from domain.unit_of_work import NotFoundError, UnitOfWork
from projections.grid_query import GridQuery
from tests.integration.test_erasure_leaves_no_trace import (
    assert_postgres_tables_hold_none_of,
    assert_sqlite_files_hold_none_of,
)
from tests.support.backends import backend_settings
from tests.support.races import at_once
from tests.support.world import T0, World

KEY = ("email", "first_name", "last_name")
SYNC = {"company": "up_and_propagate", "job_title": "up", "phone_mobile": "up"}


class Variants:
    """Zoé Roux registered twice with two spellings of her first name: two contacts."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.account_id = world.account(key=KEY, sync=SYNC)
        self.salon = world.event(self.account_id)
        # the races below register the person again in the club: it takes several bookings
        self.club = world.event(self.account_id, several_bookings=True)
        self.kept = world.register(self.account_id, self.salon, **self.zoe("Zoé", company="Acme"))
        self.variant = world.register(
            self.account_id, self.club, **self.zoe("Zoe", company="Globex", job_title="CTO")
        )
        self.survivor_id = self.contact_id_of(self.kept)
        self.merged_id = self.contact_id_of(self.variant)
        assert self.survivor_id != self.merged_id

    @staticmethod
    def zoe(first_name: str, **fields: Any) -> dict[str, Any]:
        return {"email": "zoe@example.org", "first_name": first_name, "last_name": "Roux", **fields}

    def contact_id_of(self, participant_id: UUID) -> UUID:
        contact = self.world.contact_of(self.account_id, participant_id)
        assert contact is not None
        return contact.id

    def merge(
        self, survivor_id: UUID | None = None, merged_id: UUID | None = None, **kwargs: Any
    ) -> Any:
        cmd = commands.MergeContacts(
            self.account_id,
            survivor_id or self.survivor_id,
            merged_id or self.merged_id,
            kwargs.pop("expected_version", None),
        )
        return self.world.ledger.merge_contacts(
            cmd, kwargs.pop("at", None) or self.world.tick(), self.world.meta
        )

    def contact(self, contact_id: UUID | None = None) -> Contact:
        return self.world.ledger.contact(self.account_id, contact_id or self.survivor_id)

    def delete(self, contact_id: UUID) -> None:
        cmd = commands.DeleteContact(self.account_id, contact_id)
        self.world.ledger.delete_contact(cmd, self.world.tick(), self.world.meta)

    def restore(self, contact_id: UUID) -> None:
        cmd = commands.RestoreContact(self.account_id, contact_id)
        self.world.ledger.restore_contact(cmd, self.world.tick(), self.world.meta)

    def erase(self, contact_id: UUID, **kwargs: Any) -> Any:
        cmd = commands.EraseContact(self.account_id, contact_id, **kwargs)
        return self.world.ledger.erase_contact(cmd, self.world.tick(), self.world.meta)


@pytest.fixture
def zoe(world: World) -> Variants:
    return Variants(world)


def assert_converged(world: World, contact: Contact) -> None:
    """F6: every live participant holds the contact's value of each propagated field."""
    for participant_id in contact.participants:
        participant = world.participant(contact.account_id, participant_id)  # type: ignore[arg-type]
        if not participant.deleted:
            assert participant.fields.get("company") == contact.fields.get("company")


# --- what moves ---------------------------------------------------------------------


def test_merging_moves_the_participants_to_the_survivor_and_keeps_a_tombstone(
    zoe: Variants,
) -> None:
    world = zoe.world
    before = world.position()
    outcome = zoe.merge()
    assert world.facts_since(before) == [
        "Contact.ParticipantLinked",
        "Contact.FieldsChanged",  # job_title, which the survivor lacked
        "Contact.Absorbed",
        "Contact.ParticipantUnlinked",
        "Contact.Merged",
        "Participant.Unlinked",
        "Participant.Linked",
        "Participant.FieldsChanged",  # company comes down from the survivor
    ]
    survivor, tombstone = zoe.contact(), zoe.contact(zoe.merged_id)
    assert (outcome.id, outcome.version) == (survivor.id, survivor.version)
    assert set(survivor.participants) == {zoe.kept, zoe.variant}
    assert survivor.merged_from == {zoe.merged_id} and survivor.keys_from == {zoe.merged_id}
    assert tombstone.merged_into == survivor.id and tombstone.deleted
    assert tombstone.participants == {} and tombstone.restore_until is None
    moved = world.participant(zoe.account_id, zoe.variant)
    assert moved.contact_id == survivor.id and not moved.deleted
    absorbed = [e for e in world.domain_events_since(before) if isinstance(e, Contact.Absorbed)]
    assert absorbed[0].merged_id == zoe.merged_id and absorbed[0].keys_from == [zoe.merged_id]


def test_the_survivor_keeps_its_values_and_takes_only_those_it_lacks(zoe: Variants) -> None:
    world = zoe.world
    world.edit_contact(zoe.account_id, zoe.survivor_id, city="")
    world.edit_contact(zoe.account_id, zoe.merged_id, city="Lyon")
    before = world.position()
    at = world.tick()
    zoe.merge(at=at)
    survivor = zoe.contact()
    assert survivor.fields["company"] == "Acme"  # its own value, though the other's is newer
    assert survivor.fields["first_name"] == "Zoé"  # key fields are never taken
    assert survivor.fields["job_title"] == "CTO"  # missing: filled
    assert survivor.fields["city"] == "Lyon"  # empty: filled
    filled = [e for e in world.domain_events_since(before) if isinstance(e, Contact.FieldsChanged)]
    assert len(filled) == 1
    assert filled[0].fields == {"city": "Lyon", "job_title": "CTO"}
    assert filled[0].via == {"merged_contact_id": str(zoe.merged_id)}
    assert filled[0].edited_at == at  # an edit made by the merge, like a contact edit
    assert survivor.stamps["job_title"] == at
    # the moved participant keeps its own spelling and its "up" values
    assert world.participant(zoe.account_id, zoe.variant).fields["first_name"] == "Zoe"


def test_groups_and_consent_join_the_survivor_its_own_status_and_site_account_stay(
    zoe: Variants,
) -> None:
    world, ledger, account_id = zoe.world, zoe.world.ledger, zoe.account_id
    vip, press = world.group(account_id, "VIP"), world.group(account_id, "Press")
    for group_id, members in ((vip, (zoe.merged_id,)), (press, (zoe.merged_id, zoe.survivor_id))):
        cmd = commands.ChangeGroupMembers(account_id, group_id, members)
        ledger.change_group_members(cmd, world.tick(), world.meta)
    given_at = T0 - timedelta(days=3)
    consent = commands.ChangeConsent(account_id, zoe.merged_id, True, "newsletter", given_at)
    ledger.change_consent(consent, world.tick(), world.meta)
    status = commands.SetProcessingStatus(account_id, zoe.merged_id, "processed")
    ledger.set_processing_status(status, world.tick(), world.meta)
    locked = commands.ChangeSiteAccount(account_id, zoe.merged_id, True, world.now, 3)
    ledger.change_site_account(locked, world.tick(), world.meta)
    zoe.merge()
    survivor = zoe.contact()
    assert survivor.groups == {vip, press}
    assert survivor.consent is not None
    assert (survivor.consent.given_at, survivor.consent.source) == (given_at, "newsletter")
    assert survivor.processing_status == "new"
    assert survivor.site_account.failed_attempts == 0 and not survivor.site_account.confirmed


def test_the_survivor_keeps_its_own_consent(zoe: Variants) -> None:
    world, ledger = zoe.world, zoe.world.ledger
    for contact_id, source in ((zoe.survivor_id, "salon"), (zoe.merged_id, "newsletter")):
        cmd = commands.ChangeConsent(zoe.account_id, contact_id, True, source)
        ledger.change_consent(cmd, world.tick(), world.meta)
    zoe.merge()
    consent = zoe.contact().consent
    assert consent is not None and consent.source == "salon"


def test_a_registration_with_the_merged_spelling_links_to_the_survivor(zoe: Variants) -> None:
    world = zoe.world
    zoe.merge()
    late = world.register(zoe.account_id, zoe.salon, **zoe.zoe("ZOE", job_title="CEO"))
    survivor = zoe.contact()
    assert zoe.contact_id_of(late) == survivor.id
    assert survivor.fields["first_name"] == "Zoé"  # the survivor's key stays its own
    assert survivor.fields["job_title"] == "CEO"  # other synced values go up as usual
    assert world.participant(zoe.account_id, late).fields["company"] == "Acme"
    again = world.register(zoe.account_id, zoe.club, **zoe.zoe("Zoé"))
    assert zoe.contact_id_of(again) == survivor.id


def test_propagated_values_converge_after_a_merge(zoe: Variants) -> None:
    world = zoe.world
    zoe.merge()
    survivor = zoe.contact()
    assert_converged(world, survivor)
    # a survivor lacking the propagated value takes the other's, and it flows down to all
    bare = world.register(
        zoe.account_id, zoe.salon, email="ada@example.org", first_name="Ada", last_name="L"
    )
    variant = world.register(
        zoe.account_id,
        zoe.club,
        email="ada@example.org",
        first_name="Adà",
        last_name="L",
        company="Initech",
    )
    target, other = zoe.contact_id_of(bare), zoe.contact_id_of(variant)
    before = world.position()
    zoe.merge(target, other)
    ada = zoe.contact(target)
    assert ada.fields["company"] == "Initech"
    assert world.participant(zoe.account_id, bare).fields["company"] == "Initech"
    assert_converged(world, ada)
    pushed = [
        e
        for e in world.domain_events_since(before)
        if type(e).__qualname__ == "Participant.FieldsChanged"
    ]
    assert [e.originator_id for e in pushed] == [bare]
    assert pushed[0].meta.origin == "propagation"
    assert pushed[0].meta.causation_id == f"contact:{target}"
    # later edits propagate as usual to moved participants
    world.edit(zoe.account_id, zoe.club, variant, company="Umbrella")
    assert_converged(world, zoe.contact(target))
    assert world.participant(zoe.account_id, bare).fields["company"] == "Umbrella"


# --- deleted contacts and keys --------------------------------------------------------


def test_merging_a_deleted_contact_is_the_way_out_of_a_refused_restore(world: World) -> None:
    account_id = world.account(sync={"company": "up_and_propagate"})
    salon, club = world.event(account_id), world.event(account_id)
    former = [
        world.register(account_id, e, email="ada@example.org", company="Acme")
        for e in (salon, club)
    ]
    old = world.contact_of(account_id, former[0])
    assert old is not None
    world.ledger.delete_contact(
        commands.DeleteContact(account_id, old.id), world.tick(), world.meta
    )
    newcomer = world.register(account_id, salon, email="ada@example.org", company="Globex")
    new = world.contact_of(account_id, newcomer)
    assert new is not None and new.id != old.id
    restore = commands.RestoreContact(account_id, old.id)
    with pytest.raises(KeyTakenError) as refused:
        world.ledger.restore_contact(restore, world.tick(), world.meta)
    assert refused.value.holder_id == new.id
    before = world.position()
    merge = commands.MergeContacts(account_id, new.id, old.id)
    world.ledger.merge_contacts(merge, world.tick(), world.meta)
    facts = world.facts_since(before)
    assert facts.count("Participant.Restored") == 2  # deleted with the old one: back
    survivor = world.ledger.contact(account_id, new.id)
    assert set(survivor.participants) == {*former, newcomer}
    assert survivor.keys_from == set()  # the key was the survivor's already
    for participant_id in former:
        participant = world.participant(account_id, participant_id)
        assert not participant.deleted and participant.contact_id == new.id
        assert participant.fields["company"] == "Globex"
    with pytest.raises(ContactMergedError) as merged:
        world.ledger.restore_contact(restore, world.tick(), world.meta)
    assert merged.value.survivor_id == new.id
    third = world.register(account_id, world.event(account_id), email="ada@example.org")
    assert world.contact_of(account_id, third).id == new.id  # type: ignore[union-attr]


def test_a_deleted_contacts_released_key_is_taken_over_only_if_still_free(
    zoe: Variants,
) -> None:
    world = zoe.world
    zoe.delete(zoe.merged_id)
    zoe.merge()
    assert zoe.contact().keys_from == {zoe.merged_id}
    late = world.register(zoe.account_id, zoe.salon, **zoe.zoe("Zoe"))
    assert zoe.contact_id_of(late) == zoe.survivor_id
    # the same again, but a newcomer registered with the variant meanwhile: it keeps it
    ada = world.register(
        zoe.account_id, zoe.salon, email="ada@example.org", first_name="Ada", last_name="L"
    )
    accented = world.register(
        zoe.account_id, zoe.club, email="ada@example.org", first_name="Adà", last_name="L"
    )
    target, deleted = zoe.contact_id_of(ada), zoe.contact_id_of(accented)
    zoe.delete(deleted)
    newcomer = world.register(
        zoe.account_id, zoe.club, email="ada@example.org", first_name="Adà", last_name="L"
    )
    holder = zoe.contact_id_of(newcomer)
    zoe.merge(target, deleted)
    assert zoe.contact(target).keys_from == set()
    again = world.register(
        zoe.account_id, zoe.salon, email="ada@example.org", first_name="ADÀ", last_name="L"
    )
    assert zoe.contact_id_of(again) == holder


def test_deleting_the_survivor_releases_the_merged_key_and_restoring_claims_it(
    zoe: Variants,
) -> None:
    world = zoe.world
    zoe.merge()
    zoe.delete(zoe.survivor_id)
    zoe.restore(zoe.survivor_id)
    late = world.register(zoe.account_id, zoe.salon, **zoe.zoe("Zoe"))
    assert zoe.contact_id_of(late) == zoe.survivor_id
    zoe.delete(zoe.survivor_id)
    newcomer = world.register(zoe.account_id, zoe.salon, **zoe.zoe("Zoe"))
    holder = zoe.contact_id_of(newcomer)
    assert holder not in (zoe.survivor_id, zoe.merged_id)  # the variant's key was released
    with pytest.raises(KeyTakenError) as refused:
        zoe.restore(zoe.survivor_id)
    assert refused.value.holder_id == holder
    zoe.merge(holder, zoe.survivor_id)  # merge instead, again
    assert zoe.contact(holder).merged_from == {zoe.survivor_id}


# --- refusals ---------------------------------------------------------------------


def refused(zoe: Variants, error: type[Exception], **kwargs: Any) -> Exception:
    before = zoe.world.position()
    with pytest.raises(error) as caught:
        zoe.merge(**kwargs)
    assert zoe.world.facts_since(before) == []
    return caught.value


def test_a_contact_cannot_be_merged_into_itself(zoe: Variants) -> None:
    refused(zoe, InvalidInputError, merged_id=zoe.survivor_id)


def test_the_survivor_must_be_live_and_current(zoe: Variants) -> None:
    version = zoe.contact().version
    refused(zoe, VersionMismatchError, expected_version=version - 1)
    zoe.merge(expected_version=version)
    error = refused(zoe, ContactMergedError, survivor_id=zoe.merged_id, merged_id=zoe.survivor_id)
    assert error.survivor_id == zoe.survivor_id  # type: ignore[attr-defined]
    other = zoe.world.register(
        zoe.account_id, zoe.salon, email="bob@example.org", first_name="B", last_name="C"
    )
    bob = zoe.contact_id_of(other)
    zoe.delete(zoe.survivor_id)
    refused(zoe, ContactDeletedError, merged_id=bob)
    zoe.erase(zoe.survivor_id)
    refused(zoe, ErasedError, merged_id=bob)


def test_the_merged_one_must_not_be_erased_merged_or_past_its_window(zoe: Variants) -> None:
    world = zoe.world
    bob = zoe.contact_id_of(
        world.register(
            zoe.account_id, zoe.salon, email="bob@example.org", first_name="B", last_name="C"
        )
    )
    zoe.merge()
    error = refused(zoe, ContactMergedError, survivor_id=bob)
    assert error.survivor_id == zoe.survivor_id  # type: ignore[attr-defined]
    cy = zoe.contact_id_of(
        world.register(
            zoe.account_id, zoe.salon, email="cy@example.org", first_name="C", last_name="D"
        )
    )
    zoe.delete(cy)
    deadline = zoe.contact(cy).restore_until
    assert deadline is not None
    refused(zoe, RestoreWindowClosedError, merged_id=cy, at=deadline)
    zoe.erase(cy)
    refused(zoe, ErasedError, merged_id=cy)


def test_another_accounts_contact_is_not_found(zoe: Variants) -> None:
    world = zoe.world
    elsewhere = world.account()
    stranger = world.register(elsewhere, world.event(elsewhere), email="zoe@example.org")
    foreign = world.contact_of(elsewhere, stranger)
    assert foreign is not None
    refused(zoe, NotFoundError, merged_id=foreign.id)
    refused(zoe, NotFoundError, survivor_id=foreign.id)


def test_every_later_command_on_a_tombstone_names_the_survivor(zoe: Variants) -> None:
    world, ledger, account_id, tombstone = (
        zoe.world,
        zoe.world.ledger,
        zoe.account_id,
        zoe.merged_id,
    )
    zoe.merge()
    group = world.group(account_id, "VIP")
    attempts = [
        lambda: world.edit_contact(account_id, tombstone, company="X"),
        lambda: zoe.delete(tombstone),
        lambda: zoe.restore(tombstone),
        lambda: zoe.erase(tombstone),
        lambda: ledger.set_processing_status(
            commands.SetProcessingStatus(account_id, tombstone, "processed"),
            world.tick(),
            world.meta,
        ),
        lambda: ledger.change_consent(
            commands.ChangeConsent(account_id, tombstone, True, "form"), world.tick(), world.meta
        ),
        lambda: ledger.unlock_site_account(
            commands.UnlockSiteAccount(account_id, tombstone), world.tick(), world.meta
        ),
        lambda: ledger.change_group_members(
            commands.ChangeGroupMembers(account_id, group, (tombstone,)), world.tick(), world.meta
        ),
    ]
    before = world.position()
    for attempt in attempts:
        with pytest.raises(ContactMergedError) as caught:
            attempt()
        assert caught.value.survivor_id == zoe.survivor_id
    assert world.facts_since(before) == []


def test_a_merge_is_all_or_nothing(zoe: Variants, monkeypatch: pytest.MonkeyPatch) -> None:
    world = zoe.world

    def fail(_sync: ContactSync, _survivor: Contact) -> None:
        raise RuntimeError("power cut after the participants moved")

    monkeypatch.setattr(ContactSync, "merged", fail)
    before = world.position()
    with pytest.raises(RuntimeError):
        zoe.merge()
    monkeypatch.undo()
    assert world.facts_since(before) == []
    assert zoe.contact(zoe.merged_id).merged_into is None
    assert world.participant(zoe.account_id, zoe.variant).contact_id == zoe.merged_id
    late = world.register(zoe.account_id, zoe.salon, **zoe.zoe("Zoe"))
    assert zoe.contact_id_of(late) == zoe.merged_id  # the key index is untouched
    zoe.merge()
    assert set(zoe.contact().participants) == {zoe.kept, zoe.variant, late}


def test_registrations_racing_a_merge_all_end_on_the_survivor(world: World) -> None:
    zoe = Variants(world)

    def merge() -> None:
        zoe.merge(at=world.now)

    def register() -> UUID:
        cmd = commands.RegisterParticipant(zoe.account_id, zoe.club, zoe.zoe("Zoe"))
        return world.ledger.register_participant(cmd, world.now, world.meta).id

    late = at_once(merge, register, register, register)[1:]
    assert len(late) == 3
    assert set(zoe.contact().participants) == {zoe.kept, zoe.variant, *late}
    assert zoe.contact(zoe.merged_id).participants == {}
    assert {zoe.contact_id_of(p) for p in late} == {zoe.survivor_id}


def test_a_key_read_just_before_a_merge_commits_leads_to_the_survivor(
    zoe: Variants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race above, made certain: the registration reads the key index (the merged
    contact's key) and only then loads the contact, which the merge has made a tombstone."""
    world = zoe.world
    digest_of_variant = {}
    looked_up = UnitOfWork.contact_for_key

    def before_the_merge(work: UnitOfWork, scope: UUID, digest: str) -> UUID | None:
        holder = looked_up(work, scope, digest)
        if holder == zoe.survivor_id and not digest_of_variant:
            digest_of_variant[digest] = True
            return zoe.merged_id  # what the index said a moment before the merge committed
        return holder

    zoe.merge()
    monkeypatch.setattr(UnitOfWork, "contact_for_key", before_the_merge)
    late = world.register(zoe.account_id, zoe.club, **zoe.zoe("Zoe"))
    assert digest_of_variant  # the stale read happened
    assert zoe.contact_id_of(late) == zoe.survivor_id
    assert late in zoe.contact().participants
    assert zoe.contact(zoe.merged_id).participants == {}


# --- erasure and the purge --------------------------------------------------------


def test_erasing_the_survivor_erases_its_tombstones_through_chains(zoe: Variants) -> None:
    world, ledger = zoe.world, zoe.world.ledger
    third = world.register(
        zoe.account_id, zoe.salon, **zoe.zoe("Zoë", phone_mobile="+33 6 11 22 33 44")
    )
    final = zoe.contact_id_of(third)
    zoe.merge()
    zoe.merge(final, zoe.survivor_id)
    people = [zoe.kept, zoe.variant, third]
    contacts = [final, zoe.survivor_id, zoe.merged_id]
    outcome = zoe.erase(final)
    detail = outcome.detail
    assert (detail["participants_erased"], detail["merged_erased"]) == (3, 2)
    assert set(detail["participant_ids"]) == set(people)
    assert set(detail["merged_ids"]) == {zoe.survivor_id, zoe.merged_id}
    for contact_id in contacts:
        contact = zoe.contact(contact_id)
        assert contact.erased and contact.fields == {}
    for participant_id in people:
        assert world.participant(zoe.account_id, participant_id).erased
    for subject in [*contacts, *people]:
        assert ledger.keyring.key_for(subject) is None
    for event in ledger.history_of([*contacts, *people]):
        assert "zoe@example.org" not in repr(event) and "Acme" not in repr(event)
    again = world.register(zoe.account_id, zoe.salon, **zoe.zoe("Zoe"))
    assert zoe.contact_id_of(again) not in contacts  # every key was released


@pytest.fixture
def system(store_settings: Settings) -> Iterator[ContactLedgerSystem]:
    built = build_system(store_settings, clock=lambda: T0)
    yield built
    built.close()


def test_a_tombstone_is_never_due_alone_the_purge_takes_it_with_its_survivor(
    system: ContactLedgerSystem,
) -> None:
    zoe = Variants(World(system.ledger))
    zoe.delete(zoe.merged_id)
    zoe.merge()
    far = zoe.world.now + timedelta(days=400)
    assert system.purger.run(far).contacts == 0
    purge = commands.EraseContact(zoe.account_id, zoe.merged_id, "purge", due_at=far)
    assert system.ledger.erase_contact(purge, zoe.world.tick(), zoe.world.meta).detail is None
    assert not zoe.contact(zoe.merged_id).erased
    zoe.delete(zoe.survivor_id)
    assert system.purger.run(far).contacts == 1
    assert zoe.contact(zoe.merged_id).erased and zoe.contact().erased


def test_the_grid_hides_the_tombstone_and_shows_the_merged_person_once(
    system: ContactLedgerSystem,
) -> None:
    zoe = Variants(World(system.ledger))
    zoe.merge()
    system.projector.catch_up()
    rows = _rows(system, GridQuery(zoe.account_id, now=T0))
    assert [row.contact_id for row in rows] == [zoe.survivor_id]
    assert rows[0].n_events == 2 and rows[0].fields["job_title"] == "CTO"
    moved = _rows(system, GridQuery(zoe.account_id, "participants", zoe.club, now=T0))
    assert [row.contact_id for row in moved] == [zoe.survivor_id]
    incremental = _rows(system, GridQuery(zoe.account_id, now=T0))
    system.projector.rebuild()
    assert _rows(system, GridQuery(zoe.account_id, now=T0)) == incremental


def _rows(system: ContactLedgerSystem, query: GridQuery) -> list[Any]:
    return list(system.grid.page(query).rows)


# --- no plaintext left ----------------------------------------------------------------

PERSON = {"email": "zephyrine.quetzal@example.org", "last_name": "Quetzalcoatl-Dubois"}
NEEDLES = [
    b"zephyrine.quetzal",
    "Zéphyrine".encode(),
    b"Zephyrine",
    b"Quetzalcoatl",
    "Ondulations Célestes".encode(),
    b"Vague Bleue",
]


def merged_then_purged(system: ContactLedgerSystem) -> list[bytes]:
    """Two spellings of one person, merged, the survivor deleted and purged: her keys."""
    world = World(system.ledger)
    world.now = T0
    account_id = world.account(key=KEY, sync=SYNC)
    salon, club = world.event(account_id), world.event(account_id)
    kept = world.register(
        account_id, salon, first_name="Zéphyrine", company="Ondulations Célestes", **PERSON
    )
    variant = world.register(
        account_id, club, first_name="Zephyrine", job_title="Vague Bleue", **PERSON
    )
    survivor, merged = world.contact_of(account_id, kept), world.contact_of(account_id, variant)
    assert survivor is not None and merged is not None
    keys = [system.ledger.keyring.key_for(i) for i in (kept, variant, survivor.id, merged.id)]
    cmd = commands.MergeContacts(account_id, survivor.id, merged.id)
    system.ledger.merge_contacts(cmd, world.tick(), world.meta)
    system.projector.catch_up()
    system.ledger.delete_contact(
        commands.DeleteContact(account_id, survivor.id), world.tick(), world.meta
    )
    report = system.purger.run(world.now + timedelta(days=100))
    assert report.contacts == 1
    assert system.ledger.contact(account_id, merged.id).erased
    return [k for k in keys if k is not None]


def test_sqlite_files_hold_nothing_of_a_merged_then_erased_person(tmp_path: Path) -> None:
    with backend_settings("sqlite", tmp_path) as settings:
        built = build_system(settings, clock=lambda: T0)
        keys = merged_then_purged(built)
        assert_sqlite_files_hold_none_of(tmp_path, [*NEEDLES, *keys])
        built.close()


def test_postgres_tables_hold_nothing_of_a_merged_then_erased_person(
    tmp_path: Path, require_postgres: None
) -> None:
    with backend_settings("postgres", tmp_path) as settings:
        built = build_system(settings, clock=lambda: T0)
        keys = merged_then_purged(built)
        assert_postgres_tables_hold_none_of(settings, NEEDLES, keys)
        built.close()
