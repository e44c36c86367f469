"""What a contact's up_and_propagate values write on its participants (F6), and when that
is left to the propagation follow-up instead of the command (decision 0049).

A participant gets the contact's value, stamped with the contact's edit time, only where
its own differs: bringing in line twice writes nothing the second time, so the follow-up
may apply a queued propagation again after a crash, and a newer change makes an older
queued one write nothing it would not have written anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from domain.contacts import Contact
from domain.meta import Meta, Origin
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.unit_of_work import UnitOfWork

# Up to this many other participants, a command writes them itself, in its transaction;
# past it, the command records `Contact.PropagationQueued` and the follow-up writes them.
SYNC_FAN_OUT = 20
# participants written per transaction by the follow-up
CHUNK = 200


class Runs(Protocol):
    """What runs a command: the ledger (through group commit)."""

    def run(self, decide: Callable[[UnitOfWork], Any]) -> tuple[Any, int | None]: ...


class Loads(Protocol):
    """What propagation needs from a unit of work."""

    def organiser_event(self, account_id: UUID, organiser_event_id: UUID) -> OrganiserEvent: ...
    def participant(self, account_id: UUID, participant_id: UUID) -> Participant: ...


def bring_in_line(
    work: Loads,
    participant: Participant,
    contact: Contact,
    names: Iterable[str],
    via: Mapping[str, str],
    at: datetime,
    meta: Meta,
) -> None:
    """Give `participant` the contact's values of `names` where its own differ (not its
    event's local fields, not if it is deleted)."""
    if participant.deleted:
        return
    event = work.organiser_event(contact.account_id, participant.organiser_event_id)  # type: ignore[arg-type]
    stale: dict[datetime, dict[str, Any]] = defaultdict(dict)
    for name in names:
        if (
            name in contact.fields
            and name not in event.local_fields
            and participant.fields.get(name) != contact.fields[name]
        ):
            stale[contact.stamps[name]][name] = contact.fields[name]
    caused = meta.caused_by(cause(via), Origin.PROPAGATION)
    for edited_at, values in sorted(stale.items()):
        participant.change_fields(values, at, caused, edited_at, propagated_from=dict(via))


def others(contact: Contact, skip: UUID | None) -> list[UUID]:
    """The contact's participants other than `skip`, in the order they are written."""
    return sorted((p for p in contact.participants if p != skip), key=str)


def push_down(
    work: Loads,
    contact: Contact,
    names: set[str],
    via: Mapping[str, str],
    at: datetime,
    meta: Meta,
    skip: UUID | None = None,
) -> None:
    """Bring the contact's other participants in line: in this command if they are few,
    else queued for the follow-up (the command's cost must not grow with them)."""
    if not names:
        return
    if len(contact.participants) - (skip in contact.participants) > SYNC_FAN_OUT:
        contact.queue_propagation(names, dict(via), at, meta)
        return
    for participant_id in others(contact, skip):
        other = work.participant(contact.account_id, participant_id)  # type: ignore[arg-type]
        bring_in_line(work, other, contact, names, via, at, meta)


def follow_up(
    work: Loads,
    contact: Contact,
    participant_ids: Iterable[UUID],
    names: set[str],
    via: Mapping[str, str],
    at: datetime,
    meta: Meta,
) -> None:
    """A queued propagation, for some of the contact's participants: the contact's values
    as they are now (a merged or erased contact sends nothing: its merge or erasure did)."""
    if contact.erased or contact.merged_into is not None:
        return
    for participant_id in participant_ids:
        if participant_id in contact.participants:
            other = work.participant(contact.account_id, participant_id)  # type: ignore[arg-type]
            bring_in_line(work, other, contact, names, via, at, meta)


def run_queued(
    app: Runs,
    contact_id: UUID,
    names: set[str],
    via: Mapping[str, str],
    at: datetime,
    meta: Meta,
) -> int:
    """Apply a queued propagation of a contact: one transaction per CHUNK of its
    participants, each deciding on the contact as it is then. How many were looked at."""
    done = 0
    while True:
        decide = _chunk(contact_id, done, names, via, at, meta)
        looked_at, _ = app.run(decide)
        done += int(looked_at)
        if looked_at < CHUNK:
            return done


def _chunk(
    contact_id: UUID,
    start: int,
    names: set[str],
    via: Mapping[str, str],
    at: datetime,
    meta: Meta,
) -> Callable[[UnitOfWork], int]:
    """Deciding the participants of the contact from `start` on, CHUNK of them."""

    def decide(work: UnitOfWork) -> int:
        contact = work.get(Contact, None, contact_id)
        chunk = others(contact, None)[start : start + CHUNK]
        work.preload(set(chunk))
        follow_up(work, contact, chunk, names, via, at, meta)
        return len(chunk)

    return decide


def cause(via: Mapping[str, str]) -> str:
    if "participant_id" in via:
        return f"participant:{via['participant_id']}"
    return f"contact:{via['contact_id']}"
