"""Delete, restore, erase, merge, time passing and re-registration, as a state machine.

A model tracks, per contact: live, deleted (with its deadline), merged (into which) or
erased; which persons' keys it holds (its own, and those a merge gave it); and which live
contact holds each person's key. After every step the ledger must agree: the contacts'
states, the key index (a registration goes to the model's live contact), restore
succeeding exactly before the deadline, merges refused exactly when the model says,
participants following their contact, and nothing of an erased person readable through
the repository or the log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from domain import commands
from domain.application import InvalidInputError
from domain.contact_keys import KeyTakenError
from domain.contact_lifecycle import ContactDeletedError
from domain.contact_merge import ContactMergedError
from domain.meta import Meta
from domain.retention import ErasedError, RestoreWindowClosedError, restore_deadline
from tests.support.machines import LedgerMachine

PEOPLE = ("ada@example.org", "bob@example.org", "ada@exemple.org")
T0 = datetime(2026, 12, 30, 12, tzinfo=UTC)  # windows cross the year end and February
META = Meta("machine", "compliance", "http", "corr")


class DeletionMachine(LedgerMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.account_id = self.ledger.open_account("Org", T0, META).id
        self.events = []
        for index in range(2):
            create = commands.CreateOrganiserEvent(
                self.account_id, f"Edition {index}", "event", several_bookings=True
            )  # the machine is about contacts: a person may register again
            event_id = self.ledger.create_organiser_event(create, T0, META).id
            self.ledger.change_sync(commands.ChangeSync(self.account_id, event_id, True), T0, META)
            self.events.append(event_id)
        self.state: dict[UUID, str] = {}  # contact -> live | deleted | merged | erased
        self.deadline: dict[UUID, datetime] = {}
        self.person_of: dict[UUID, int] = {}
        self.holder: dict[int, UUID | None] = dict.fromkeys(range(len(PEOPLE)))
        self.held: dict[UUID, set[int]] = {}  # the persons whose keys a contact holds
        self.merged_into: dict[UUID, UUID] = {}
        self.merged_from: dict[UUID, list[UUID]] = {}
        self.participants_of: dict[UUID, list[UUID]] = {}

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    @property
    def contacts(self) -> list[UUID]:
        return list(self.state)  # in creation order: draws must not depend on random ids

    # --- rules ----------------------------------------------------------------------

    @rule(person=st.sampled_from(range(len(PEOPLE))), event=st.sampled_from(range(2)))
    def register(self, person: int, event: int) -> None:
        cmd = commands.RegisterParticipant(
            self.account_id, self.events[event], {"email": PEOPLE[person]}
        )
        participant_id = self.ledger.register_participant(cmd, self.tick(), META).id
        contact_id = self.ledger.participant(
            self.account_id, self.events[event], participant_id
        ).contact_id
        assert contact_id is not None
        expected = self.holder[person]
        if expected is None:
            assert contact_id not in self.state, "a new person must get a new contact"
            self.state[contact_id] = "live"
            self.person_of[contact_id] = person
            self.holder[person] = contact_id
            self.held[contact_id] = {person}
        else:
            assert contact_id == expected
        self.participants_of.setdefault(contact_id, []).append(participant_id)

    @precondition(lambda self: self.state)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        contact_id = data.draw(st.sampled_from(self.contacts))
        cmd = commands.DeleteContact(self.account_id, contact_id)
        if self.state[contact_id] == "erased":
            with pytest.raises(ErasedError):
                self.ledger.delete_contact(cmd, self.tick(), META)
            return
        if self._refused_as_merged(contact_id, self.ledger.delete_contact, cmd):
            return
        at = self.tick()
        self.ledger.delete_contact(cmd, at, META)
        if self.state[contact_id] == "live":
            self.state[contact_id] = "deleted"
            self.deadline[contact_id] = restore_deadline(at, 2)
            self._release(contact_id)

    @precondition(lambda self: self.state)
    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        contact_id = data.draw(st.sampled_from(self.contacts))
        cmd = commands.RestoreContact(self.account_id, contact_id)
        at, state = self.tick(), self.state[contact_id]
        taken = {self.holder[p] for p in self.held[contact_id]} - {None, contact_id}
        if state == "erased":
            with pytest.raises(ErasedError):
                self.ledger.restore_contact(cmd, at, META)
        elif self._refused_as_merged(contact_id, self.ledger.restore_contact, cmd):
            return
        elif state == "live":
            self.ledger.restore_contact(cmd, at, META)
        elif at >= self.deadline[contact_id]:
            with pytest.raises(RestoreWindowClosedError):
                self.ledger.restore_contact(cmd, at, META)
        elif taken:
            with pytest.raises(KeyTakenError) as refused:
                self.ledger.restore_contact(cmd, at, META)
            assert refused.value.holder_id in taken
        else:
            self.ledger.restore_contact(cmd, at, META)
            self.state[contact_id] = "live"
            for person in self.held[contact_id]:
                self.holder[person] = contact_id

    @precondition(lambda self: self.state)
    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        contact_id = data.draw(st.sampled_from(self.contacts))
        cmd = commands.EraseContact(self.account_id, contact_id)
        if self.state[contact_id] != "erased" and self._refused_as_merged(
            contact_id, self.ledger.erase_contact, cmd
        ):
            return
        self.ledger.erase_contact(cmd, self.tick(), META)
        if self.state[contact_id] == "live":
            self._release(contact_id)
        self._erased(contact_id)

    @rule(
        days=st.sampled_from((1, 27, 30, 58, 59, 60, 61, 62)),
        seconds=st.sampled_from((0, 1, 43_199, 43_200, 86_399)),
    )
    def time_passes(self, days: int, seconds: int) -> None:
        self.now += timedelta(days=days, seconds=seconds)

    @rule()
    def purge(self) -> None:
        at = self.tick()
        for contact_id in self.contacts:
            cmd = commands.EraseContact(self.account_id, contact_id, "purge", due_at=at)
            self.ledger.erase_contact(cmd, at, META)
            if self.state[contact_id] == "deleted" and self.deadline[contact_id] <= at:
                self._erased(contact_id)  # a tombstone is never due: it goes with this one

    @precondition(lambda self: self.state)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        survivor = data.draw(st.sampled_from(self.contacts))
        self._merge(survivor, data.draw(st.sampled_from(self.contacts)))

    @precondition(lambda self: len(self.in_state("live", "deleted")) > 1 and self.in_state("live"))
    @rule(data=st.data())
    def merge_into_a_live_contact(self, data: st.DataObject) -> None:
        survivor = data.draw(st.sampled_from(self.in_state("live")))
        others = [c for c in self.in_state("live", "deleted") if c != survivor]
        self._merge(survivor, data.draw(st.sampled_from(others)))

    def in_state(self, *states: str) -> list[UUID]:
        return [c for c in self.contacts if self.state[c] in states]

    def _merge(self, survivor: UUID, merged: UUID) -> None:
        cmd = commands.MergeContacts(self.account_id, survivor, merged)
        at = self.tick()
        expected = self._merge_refusal(survivor, merged, at)
        if expected is not None:
            with pytest.raises(expected[0]) as refused:
                self.ledger.merge_contacts(cmd, at, META)
            if expected[1] is not None:
                assert refused.value.survivor_id == expected[1]  # type: ignore[attr-defined]
            return
        self.ledger.merge_contacts(cmd, at, META)
        for person in self.held[merged]:
            if self.holder[person] in (None, merged):  # free or the merged one's: taken over
                self.holder[person] = survivor
                self.held[survivor].add(person)
        self.participants_of.setdefault(survivor, []).extend(self.participants_of.pop(merged, []))
        self.state[merged] = "merged"
        self.merged_into[merged] = survivor
        self.merged_from.setdefault(survivor, []).append(merged)

    def _merge_refusal(
        self, survivor: UUID, merged: UUID, at: datetime
    ) -> tuple[type[Exception], UUID | None] | None:
        """What the ledger must answer, checked in its order; None: the merge happens."""
        if survivor == merged:
            return InvalidInputError, None
        for contact_id, refusals in ((survivor, SURVIVOR_REFUSALS), (merged, MERGED_REFUSALS)):
            state = self.state[contact_id]
            if state == "merged":
                return ContactMergedError, self.merged_into[contact_id]
            if state in refusals:
                return refusals[state], None
        if self.state[merged] == "deleted" and at >= self.deadline[merged]:
            return RestoreWindowClosedError, None
        return None

    def _refused_as_merged(self, contact_id: UUID, command: Any, cmd: Any) -> bool:
        if self.state[contact_id] != "merged":
            return False
        with pytest.raises(ContactMergedError) as refused:
            command(cmd, self.tick(), META)
        assert refused.value.survivor_id == self.merged_into[contact_id]
        return True

    def _release(self, contact_id: UUID) -> None:
        for person in self.held[contact_id]:
            if self.holder[person] == contact_id:
                self.holder[person] = None

    def _erased(self, contact_id: UUID) -> None:
        """Erased, with every tombstone merged into it (through chains of merges)."""
        self.state[contact_id] = "erased"
        for tombstone in self.merged_from.get(contact_id, []):
            self._erased(tombstone)

    # --- invariants -----------------------------------------------------------------

    @invariant()
    def contacts_are_in_their_modelled_state(self) -> None:
        for contact_id, state in self.state.items():
            contact = self.ledger.contact(self.account_id, contact_id)
            assert (contact.erased, contact.deleted) == {
                "live": (False, False),
                "deleted": (False, True),
                "merged": (False, True),
                "erased": (True, True),
            }[state], contact_id
            if state == "deleted":
                assert contact.restore_until == self.deadline[contact_id]
            assert contact.merged_into == self.merged_into.get(contact_id)
            assert contact.merged_from == set(self.merged_from.get(contact_id, []))

    @invariant()
    def the_key_index_points_where_the_model_says(self) -> None:
        for person, email in enumerate(PEOPLE):
            digest = self.ledger.hasher.digest(self.account_id, (email,))
            assert (
                self.ledger.key_index.find_contact(self.account_id, digest) == (self.holder[person])
            ), email

    @invariant()
    def participants_follow_their_contact(self) -> None:
        for contact_id, participants in self.participants_of.items():
            state = self.state[contact_id]
            for participant_id in participants:
                participant = self.ledger.load(participant_id)
                assert participant.contact_id == contact_id  # type: ignore[attr-defined]
                assert participant.deleted == (state != "live")  # type: ignore[attr-defined]

    @invariant()
    def nothing_of_an_erased_person_is_readable(self) -> None:
        for contact_id, state in self.state.items():
            if state != "erased":
                continue
            contact = self.ledger.contact(self.account_id, contact_id)
            assert contact.fields == {}
            subjects = [contact_id, *self.participants_of.get(contact_id, [])]
            for participant_id in subjects[1:]:
                participant = self.ledger.load(participant_id)
                assert participant.erased and participant.fields == {}  # type: ignore[attr-defined]
            for event in self.ledger.history_of(subjects):
                assert not any(email in repr(event) for email in PEOPLE)


SURVIVOR_REFUSALS = {"erased": ErasedError, "deleted": ContactDeletedError}
MERGED_REFUSALS: dict[str, type[Exception]] = {"erased": ErasedError}


TestDeletionInMemory = DeletionMachine.TestCase
TestDeletionInMemory.settings = settings(max_examples=100, stateful_step_count=25, deadline=None)


class SqliteDeletionMachine(DeletionMachine):
    backend = "sqlite"


TestDeletionOnSqlite = SqliteDeletionMachine.TestCase
TestDeletionOnSqlite.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)


class PostgresDeletionMachine(DeletionMachine):
    backend = "postgres"


TestDeletionOnPostgres = PostgresDeletionMachine.TestCase
TestDeletionOnPostgres.settings = settings(max_examples=8, stateful_step_count=20, deadline=None)
