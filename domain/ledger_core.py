"""The core of the ledger application: loading, saving and running commands, and what the
commands answer and raise. The commands themselves are in the `ledger_*` topic modules,
composed into `ContactLedger` by `domain/application.py` (decision 0040).

A command loads what it needs, decides through the aggregates and the sync engine, and
saves everything it touched in one transaction, with the commands that arrived with it
(group commit, decision 0048). If another writer got there first (a version or
key-index conflict), the batch is decided again on fresh state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import JSONTranscoder, Recording, Transcoding

from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.batch import RACES, Decide, Decision, decide_all
from domain.commands import RegisterParticipant
from domain.contact_keys import ContactKeyIndex
from domain.contacts import Contact
from domain.keys import KeyHasher, key_values
from domain.meta import Meta
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant
from domain.unit_of_work import NotFoundError, UnitOfWork

T = TypeVar("T", bound=LedgerAggregate)
BACKFILL_BATCH = 200
MAX_SELECTION = 1000  # contacts per group-membership command; more is a bulk job


class VersionMismatchError(Exception):
    """Raised when the caller's expected version (If-Match) is not the current one."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected} but the current version is {actual}")
        self.expected = expected
        self.actual = actual


class SyncDisabledError(Exception):
    """Raised when a backfill is asked for an event whose contact sync is off."""

    def __init__(self, organiser_event_id: UUID) -> None:
        super().__init__(
            f"contact sync is not enabled for event {organiser_event_id}; enable it first"
        )


class BusyError(Exception):
    """Raised when a command kept losing races with other writers and gave up."""


class InvalidInputError(ValueError):
    """Raised when a command's own shape is invalid (not a field value)."""


@dataclass(frozen=True)
class Outcome:
    """What a write answers: the resource, its version, and the log position."""

    id: UUID
    version: int
    position: int | None
    detail: Any = None
    state: Any = None  # the aggregate as the command left it (answers without a re-read)


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, Any]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Meta:
        return Meta.from_dict(data)


class LedgerCore(Application[UUID]):
    """Loading, saving, and running a command in a unit of work: what every topic of the
    ledger builds on (decision 0040)."""

    name = "ContactLedger"

    def __init__(self, hasher: KeyHasher, env: dict[str, str] | None = None) -> None:
        super().__init__(env=env)
        self.hasher = hasher
        # how commands are run: adapters install group commit (adapters/group_commit.py)
        self.runner: Callable[[Decide], tuple[Any, int | None]] = self.run_alone

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())

    @property
    def key_index(self) -> ContactKeyIndex:
        return cast(ContactKeyIndex, self.recorder)

    # --- loading (adapters may cache rarely-changing aggregates) ---------------------

    def load(self, aggregate_id: UUID, for_update: bool = True) -> LedgerAggregate:
        """The current state of an aggregate (raises AggregateNotFoundError).

        With `for_update=False` the caller promises not to modify it, so a cached
        instance shared with other commands may be returned.
        """
        aggregate: LedgerAggregate = self.repository.get(aggregate_id)
        return aggregate

    def load_many(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, LedgerAggregate]:
        """Several aggregates at once (adapters do it in one query); missing ones omitted."""
        found: dict[UUID, LedgerAggregate] = {}
        for aggregate_id in aggregate_ids:
            with contextlib.suppress(AggregateNotFoundError):
                found[aggregate_id] = self.load(aggregate_id)
        return found

    def prefetch_keys(
        self, work: UnitOfWork, cmds: list[RegisterParticipant], participants: bool = True
    ) -> None:
        """One query for the key index entries of a whole batch, one for their contacts and,
        unless told not to, one for those contacts' participants (which a hot contact has
        many of: a registration that changes nothing on its contact needs none of them);
        and one per event for its bookings of those keys (decision 0050)."""
        for account_id in {cmd.account_id for cmd in cmds}:
            key = work.account(account_id).uniqueness_key
            by_event: dict[UUID, set[str]] = {}
            for cmd in cmds:
                values = key_values(key, cmd.fields) if cmd.account_id == account_id else None
                if values is not None:
                    digest = work.digest(account_id, values)
                    by_event.setdefault(cmd.organiser_event_id, set()).add(digest)
            for event_id, booked in by_event.items():
                work.prefetch_keys(event_id, booked)
            digests = set().union(*by_event.values())
            contacts = work.preload(work.prefetch_keys(account_id, digests))
            if participants:
                work.preload(
                    {p for c in contacts if isinstance(c, Contact) for p in c.participants}
                )

    def save_aggregates(
        self, aggregates: Iterable[LedgerAggregate], **kwargs: Any
    ) -> list[Recording[UUID]]:
        """`Application.save` for aggregates only: the library's checks each object against
        two runtime Protocols, which costs more than collecting its events."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def committed(self, aggregates: list[LedgerAggregate]) -> None:
        """Called after a unit of work is saved, with what it loaded for update."""

    def conflicted(self) -> None:
        """Called when a save lost a race: anything cached may be stale."""

    # --- running commands -----------------------------------------------------------

    def run(self, decide: Decide) -> tuple[Any, int | None]:
        """Run `decide` in a unit of work and commit it: its value and the log position."""
        return self.runner(decide)

    def run_alone(self, decide: Decide) -> tuple[Any, int | None]:
        """`run` without group commit: one attempt (a lost race raises IntegrityError)."""
        decisions, position = self.run_batch([decide])
        return decisions[0].result(), position

    def run_batch(self, decides: Sequence[Decide]) -> tuple[list[Decision], int | None]:
        """Decide each command in order against one unit of work and commit them at once.

        A lost race (IntegrityError, StaleSettingsError) is the whole batch's: it raises,
        after `conflicted()`, and nothing is written."""
        try:
            work, decisions = decide_all(self, decides)
            return decisions, work.commit()
        except RACES:
            self.conflicted()
            raise

    def _write(self, decide: Callable[[UnitOfWork], LedgerAggregate]) -> Outcome:
        target, position = self.run(decide)
        if position is None:
            position = self.recorder.max_notification_id()
        return Outcome(target.id, target.version, position, state=target)

    # --- reads ----------------------------------------------------------------------

    def _read(self, cls: type[T], account_id: UUID, aggregate_id: UUID) -> T:
        return UnitOfWork(self).get(cls, account_id, aggregate_id)

    def account(self, account_id: UUID) -> Account:
        return self._read(Account, account_id, account_id)

    def organiser_event(self, account_id: UUID, organiser_event_id: UUID) -> OrganiserEvent:
        return self._read(OrganiserEvent, account_id, organiser_event_id)

    def participant(
        self, account_id: UUID, organiser_event_id: UUID, participant_id: UUID
    ) -> Participant:
        participant = self._read(Participant, account_id, participant_id)
        check_event(participant, organiser_event_id)
        return participant

    def contact(self, account_id: UUID, contact_id: UUID) -> Contact:
        return self._read(Contact, account_id, contact_id)


def check_event(participant: Participant, organiser_event_id: UUID) -> None:
    if participant.organiser_event_id != organiser_event_id:
        raise NotFoundError("participant", participant.id)


def check_version(aggregate: LedgerAggregate, expected: int | None) -> None:
    if expected is not None and aggregate.version != expected:
        raise VersionMismatchError(expected, aggregate.version)
