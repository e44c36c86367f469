"""Propagation converges: a hypothesis state machine interleaving edits across events.

Edits carry arbitrary recorded times (a late commit of an older edit is modelled by an
earlier `at`). After every step — the handlers run inside the command, so each step is
quiescent — every participant of a contact holds the contact's value for each
up_and_propagate field, and the contact holds the value of the latest recorded user
edit (by edit time, ties by log position). The oracle reads that from the stored facts.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from domain import commands
from domain.contacts import Contact
from domain.meta import Meta
from domain.participants import Participant, ParticipantDeletedError
from tests.support.machines import LedgerMachine

PEOPLE = ("ada@example.org", "bob@example.org", "cy@example.org")
PROPAGATED, UP = "company", "job_title"
SYNC = {PROPAGATED: "up_and_propagate", UP: "up"}
T0 = datetime(2025, 1, 1, tzinfo=UTC)
META = Meta("prop", "editor", "http", "corr")

people = st.sampled_from(range(len(PEOPLE)))
events = st.sampled_from(range(3))
fields = st.sampled_from((PROPAGATED, UP))
values = st.sampled_from(("Acme", "Globex", "Initech", None))
times = st.integers(0, 30).map(lambda s: T0 + timedelta(seconds=s))


class PropagationMachine(LedgerMachine):
    def __init__(self) -> None:
        super().__init__()
        self.account_id = self.ledger.open_account("Org", T0, META).id
        cmd = commands.ChangeSettings(self.account_id, ("email",), SYNC, 2)
        self.ledger.change_settings(cmd, T0, META)
        self.event_ids = []
        for index in range(3):
            create = commands.CreateOrganiserEvent(self.account_id, f"Edition {index}", "event")
            event_id = self.ledger.create_organiser_event(create, T0, META).id
            self.ledger.change_sync(commands.ChangeSync(self.account_id, event_id, True), T0, META)
            self.event_ids.append(event_id)
        self.participants: dict[tuple[int, int], UUID] = {}

    @rule(person=people, event=events, company=values, job=values, at=times)
    def register(self, person: int, event: int, company: Any, job: Any, at: datetime) -> None:
        if (person, event) in self.participants:
            return
        values_ = {"email": PEOPLE[person], PROPAGATED: company, UP: job}
        cmd = commands.RegisterParticipant(self.account_id, self.event_ids[event], values_)
        self.participants[(person, event)] = self.ledger.register_participant(cmd, at, META).id

    @precondition(lambda self: self.participants)
    @rule(data=st.data(), field=fields, value=values, at=times)
    def edit_participant(self, data: st.DataObject, field: str, value: Any, at: datetime) -> None:
        (_, event), participant_id = data.draw(st.sampled_from(sorted(self.participants.items())))
        cmd = commands.ChangeParticipantFields(
            self.account_id, self.event_ids[event], participant_id, {field: value}
        )
        with contextlib.suppress(ParticipantDeletedError):
            self.ledger.change_participant_fields(cmd, at, META)

    @precondition(lambda self: self.participants)
    @rule(data=st.data(), field=fields, value=values, at=times)
    def edit_contact(self, data: st.DataObject, field: str, value: Any, at: datetime) -> None:
        participant_id = data.draw(st.sampled_from(sorted(self.participants.values())))
        contact_id = self._participant(participant_id).contact_id
        if contact_id is not None:
            cmd = commands.ChangeContactFields(self.account_id, contact_id, {field: value})
            self.ledger.change_contact_fields(cmd, at, META)

    @precondition(lambda self: len(self.participants) > 1)
    @rule(data=st.data(), at=times)
    def delete_participant(self, data: st.DataObject, at: datetime) -> None:
        (_, event), participant_id = data.draw(st.sampled_from(sorted(self.participants.items())))
        cmd = commands.DeleteParticipant(self.account_id, self.event_ids[event], participant_id)
        self.ledger.delete_participant(cmd, at, META)

    @invariant()
    def one_contact_per_person(self) -> None:
        for person in range(len(PEOPLE)):
            contacts = {self._participant(p).contact_id for p in self._live(person)}
            assert len(contacts) <= 1, contacts

    @invariant()
    def propagated_values_converge_on_the_latest_edit(self) -> None:
        facts = self._facts()
        for person in range(len(PEOPLE)):
            live = self._live(person)
            if not live:
                continue
            contact = self.ledger.repository.get(self._participant(live[0]).contact_id)
            assert isinstance(contact, Contact)
            for field in (PROPAGATED, UP):
                expected = _latest_edit(facts, contact, field)
                assert contact.fields.get(field) == expected, (field, facts)
            for participant_id in live:
                participant = self._participant(participant_id)
                assert participant.fields.get(PROPAGATED) == contact.fields.get(PROPAGATED)

    def _live(self, person: int) -> list[UUID]:
        ids = [pid for (who, _), pid in sorted(self.participants.items()) if who == person]
        return [pid for pid in ids if not self._participant(pid).deleted]

    def _participant(self, participant_id: UUID) -> Participant:
        participant = self.ledger.repository.get(participant_id)
        assert isinstance(participant, Participant)
        return participant

    def _facts(self) -> list[tuple[int, Any]]:
        recorder = self.ledger.recorder
        return [
            (n.id, self.ledger.mapper.to_domain_event(n))
            for n in recorder.select_notifications(start=1, limit=100_000)
        ]


def _latest_edit(facts: list[tuple[int, Any]], contact: Contact, field: str) -> Any:
    """The value of the latest user edit of `field` on this contact or its participants."""
    members = set(contact.participants) | _former_members(facts, contact.id)
    edits = []
    for position, fact in facts:
        name = type(fact).__qualname__
        if field not in (getattr(fact, "fields", None) or {}):
            continue
        if name == "Participant.Registered" and fact.originator_id in members:
            edits.append((fact.timestamp, position, fact.fields[field]))
        elif name == "Participant.FieldsChanged" and fact.originator_id in members:
            if fact.propagated_from is None:
                edits.append((fact.edited_at, position, fact.fields[field]))
        elif (
            name in {"Contact.Created", "Contact.FieldsChanged"}
            and fact.originator_id == contact.id
            and not fact.via
        ):
            edits.append((fact.edited_at, position, fact.fields[field]))
    return max(edits)[2] if edits else None


def _former_members(facts: list[tuple[int, Any]], contact_id: UUID) -> set[UUID]:
    return {
        fact.participant_id
        for _, fact in facts
        if type(fact).__qualname__ in {"Contact.Created", "Contact.ParticipantLinked"}
        and fact.originator_id == contact_id
    }


TestPropagationInMemory = PropagationMachine.TestCase
TestPropagationInMemory.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)


class SqlitePropagationMachine(PropagationMachine):
    backend = "sqlite"


TestPropagationOnSqlite = SqlitePropagationMachine.TestCase
TestPropagationOnSqlite.settings = settings(max_examples=20, stateful_step_count=20, deadline=None)


class PostgresPropagationMachine(PropagationMachine):
    backend = "postgres"


TestPropagationOnPostgres = PostgresPropagationMachine.TestCase
TestPropagationOnPostgres.settings = settings(max_examples=8, stateful_step_count=20, deadline=None)
