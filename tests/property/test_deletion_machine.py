"""Delete, restore, erase, time passing and re-registration, as a hypothesis state machine.

A model tracks, per contact: live, deleted (with its deadline) or erased, and which live
contact holds each person's key. After every step the ledger must agree: the contacts'
states, the key index (a registration goes to the model's live contact), restore
succeeding exactly before the deadline, and nothing of an erased person readable through
the repository or the log.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from domain import commands
from domain.contacts import KeyTakenError
from domain.meta import Meta
from domain.retention import ErasedError, RestoreWindowClosedError, restore_deadline
from tests.support.machines import LedgerMachine

PEOPLE = ("ada@example.org", "bob@example.org")
T0 = datetime(2026, 12, 30, 12, tzinfo=UTC)  # windows cross the year end and February
META = Meta("machine", "compliance", "http", "corr")


class DeletionMachine(LedgerMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.account_id = self.ledger.open_account("Org", T0, META).id
        self.events = []
        for index in range(2):
            create = commands.CreateOrganiserEvent(self.account_id, f"Edition {index}", "event")
            event_id = self.ledger.create_organiser_event(create, T0, META).id
            self.ledger.change_sync(commands.ChangeSync(self.account_id, event_id, True), T0, META)
            self.events.append(event_id)
        self.state: dict[UUID, str] = {}  # contact -> live | deleted | erased
        self.deadline: dict[UUID, datetime] = {}
        self.person_of: dict[UUID, int] = {}
        self.holder: dict[int, UUID | None] = dict.fromkeys(range(len(PEOPLE)))
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
        at = self.tick()
        self.ledger.delete_contact(cmd, at, META)
        if self.state[contact_id] == "live":
            self.state[contact_id] = "deleted"
            self.deadline[contact_id] = restore_deadline(at, 2)
            self.holder[self.person_of[contact_id]] = None

    @precondition(lambda self: self.state)
    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        contact_id = data.draw(st.sampled_from(self.contacts))
        cmd = commands.RestoreContact(self.account_id, contact_id)
        at, state = self.tick(), self.state[contact_id]
        person = self.person_of[contact_id]
        if state == "erased":
            with pytest.raises(ErasedError):
                self.ledger.restore_contact(cmd, at, META)
        elif state == "live":
            self.ledger.restore_contact(cmd, at, META)
        elif at >= self.deadline[contact_id]:
            with pytest.raises(RestoreWindowClosedError):
                self.ledger.restore_contact(cmd, at, META)
        elif self.holder[person] is not None:
            with pytest.raises(KeyTakenError) as refused:
                self.ledger.restore_contact(cmd, at, META)
            assert refused.value.holder_id == self.holder[person]
        else:
            self.ledger.restore_contact(cmd, at, META)
            self.state[contact_id] = "live"
            self.holder[person] = contact_id

    @precondition(lambda self: self.state)
    @rule(data=st.data())
    def erase(self, data: st.DataObject) -> None:
        contact_id = data.draw(st.sampled_from(self.contacts))
        cmd = commands.EraseContact(self.account_id, contact_id)
        self.ledger.erase_contact(cmd, self.tick(), META)
        if self.state[contact_id] == "live":
            self.holder[self.person_of[contact_id]] = None
        self.state[contact_id] = "erased"

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
                self.state[contact_id] = "erased"

    # --- invariants -----------------------------------------------------------------

    @invariant()
    def contacts_are_in_their_modelled_state(self) -> None:
        for contact_id, state in self.state.items():
            contact = self.ledger.contact(self.account_id, contact_id)
            assert (contact.erased, contact.deleted) == {
                "live": (False, False),
                "deleted": (False, True),
                "erased": (True, True),
            }[state], contact_id
            if state == "deleted":
                assert contact.restore_until == self.deadline[contact_id]

    @invariant()
    def nothing_of_an_erased_person_is_readable(self) -> None:
        for contact_id, state in self.state.items():
            if state != "erased":
                continue
            email = PEOPLE[self.person_of[contact_id]]
            contact = self.ledger.contact(self.account_id, contact_id)
            assert contact.fields == {}
            subjects = [contact_id, *self.participants_of.get(contact_id, [])]
            for participant_id in subjects[1:]:
                participant = self.ledger.load(participant_id)
                assert participant.erased and participant.fields == {}  # type: ignore[attr-defined]
            for event in self.ledger.history_of(subjects):
                assert email not in repr(event)


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
