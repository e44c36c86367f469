"""The unit of work: the aggregates one command touches, and its key-index claims."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.accounts import Account
from domain.aggregate import LedgerAggregate
from domain.claims import Claim, KeyClaim, KeyOffer, KeyRelease, SubjectShred
from domain.contacts import Contact
from domain.keys import key_values
from domain.organiser_events import OrganiserEvent
from domain.participants import Participant

if TYPE_CHECKING:
    from domain.ledger_core import LedgerCore

T = TypeVar("T", bound=LedgerAggregate)


class NotFoundError(Exception):
    """Raised when a resource does not exist in the caller's account."""

    def __init__(self, kind: str, resource_id: UUID) -> None:
        super().__init__(f"{kind} {resource_id} not found")
        self.kind = kind
        self.resource_id = resource_id


KIND_NAMES: dict[type[LedgerAggregate], str] = {
    Account: "account",
    OrganiserEvent: "event",
    Participant: "participant",
    Contact: "contact",
}


class UnitOfWork:
    """An identity map of the aggregates one command touches, and its key claims."""

    def __init__(self, app: LedgerCore) -> None:
        self.app = app
        self.aggregates: dict[UUID, LedgerAggregate] = {}
        self.claims: list[Claim] = []
        self.overlay: dict[tuple[UUID, str], UUID | None] = {}
        self.looked_up: dict[tuple[UUID, str], UUID | None] = {}
        # offers and releases of keys not in the overlay: what they do depends on the
        # stored entry, so they are replayed on it when the key is read
        self.pending: dict[tuple[UUID, str], list[KeyOffer | KeyRelease]] = {}
        self.shared: set[UUID] = set()
        self.event_keys: dict[UUID, str | None] = {}  # participant -> its key when loaded
        self.digests: dict[tuple[UUID, tuple[str, ...]], str] = {}
        # what the current command touched: object id -> (aggregate, pending events then)
        self.watched: dict[int, tuple[LedgerAggregate, int]] = {}
        self.claims_mark = 0

    def get(
        self, cls: type[T], account_id: UUID | None, aggregate_id: UUID, for_update: bool = True
    ) -> T:
        """Load once per unit of work; `for_update=False` may return a shared read-only copy."""
        aggregate = self.aggregates.get(aggregate_id)
        if aggregate is None or (for_update and aggregate_id in self.shared):
            try:
                aggregate = self.app.load(aggregate_id, for_update)
            except AggregateNotFoundError:
                raise NotFoundError(KIND_NAMES[cls], aggregate_id) from None
            self.aggregates[aggregate_id] = aggregate
            self._loaded(aggregate)
            if for_update:
                self.shared.discard(aggregate_id)
            else:
                self.shared.add(aggregate_id)
        owner = aggregate.id if isinstance(aggregate, Account) else aggregate.account_id  # type: ignore[attr-defined]
        if not isinstance(aggregate, cls) or (account_id is not None and owner != account_id):
            raise NotFoundError(KIND_NAMES[cls], aggregate_id)
        self._watch(aggregate)
        return aggregate

    def account(self, account_id: UUID, for_update: bool = False) -> Account:
        return self.get(Account, account_id, account_id, for_update)

    def organiser_event(
        self, account_id: UUID, organiser_event_id: UUID, for_update: bool = False
    ) -> OrganiserEvent:
        return self.get(OrganiserEvent, account_id, organiser_event_id, for_update)

    def participant(self, account_id: UUID, participant_id: UUID) -> Participant:
        return self.get(Participant, account_id, participant_id)

    def contact(self, account_id: UUID, contact_id: UUID) -> Contact:
        return self.get(Contact, account_id, contact_id)

    def add(self, aggregate: LedgerAggregate) -> None:
        self.aggregates[aggregate.id] = aggregate
        self.watched[id(aggregate)] = (aggregate, 0)

    def prefetch_keys(self, account_id: UUID, digests: set[str]) -> set[UUID]:
        """Look up many key digests at once; returns the contacts found."""
        found = self.app.key_index.find_contacts(account_id, digests)
        for digest in digests:
            self.looked_up[(account_id, digest)] = found.get(digest)
        return set(found.values())

    def preload(self, aggregate_ids: set[UUID]) -> list[LedgerAggregate]:
        """Load many aggregates in one go into the identity map (batches)."""
        missing = aggregate_ids - set(self.aggregates)
        loaded = self.app.load_many(missing)
        self.aggregates.update(loaded)
        for aggregate in loaded.values():
            self._loaded(aggregate)
            self._watch(aggregate)
        return list(loaded.values())

    def contact_for_key(self, account_id: UUID, digest: str) -> UUID | None:
        """Who holds the key once this unit of work's claims so far are applied."""
        key = (account_id, digest)
        if key in self.overlay:
            return self.overlay[key]
        if key not in self.looked_up:
            self.looked_up[key] = self.app.key_index.find_contact(account_id, digest)
        holder = self.looked_up[key]
        for change in self.pending.get(key, ()):
            holder = _applied(change, holder)
        return holder

    def claim(self, account_id: UUID, digest: str, contact_id: UUID) -> None:
        self.claims.append(KeyClaim(account_id, digest, contact_id))
        self.overlay[(account_id, digest)] = contact_id

    def release(self, account_id: UUID, digest: str, contact_id: UUID) -> None:
        self._change(KeyRelease(account_id, digest, contact_id))

    def offer(self, account_id: UUID, digest: str, contact_id: UUID) -> None:
        self._change(KeyOffer(account_id, digest, contact_id))

    def _change(self, change: KeyOffer | KeyRelease) -> None:
        """An offer or a release, as the recorders will apply it after the claims before."""
        self.claims.append(change)
        key = (change.scope_id, change.digest)
        if key in self.overlay:
            self.overlay[key] = _applied(change, self.overlay[key])
        else:
            self.pending.setdefault(key, []).append(change)

    def shred(self, account_id: UUID, subject_id: UUID, at: datetime) -> None:
        """Destroy a data subject's key in the same transaction as the command's events."""
        self.claims.append(SubjectShred(account_id, at, subject_id))

    def event_key(self, participant: Participant) -> str | None:
        """The digest a participant is found by in its event's key index (None: not found)."""
        if participant.deleted or participant.erased:
            return None
        account = self.account(participant.account_id)  # type: ignore[arg-type]
        values = key_values(account.uniqueness_key, participant.fields)
        return None if values is None else self.digest(account.id, values)

    def digest(self, account_id: UUID, values: tuple[str, ...]) -> str:
        """The key-index digest of normalised key values. A command asks for the same one
        several times (check, link, index); it is kept for the command only."""
        digest = self.digests.get((account_id, values))
        if digest is None:
            digest = self.digests[(account_id, values)] = self.app.hasher.digest(account_id, values)
        return digest

    def begin_command(self) -> None:
        """Several commands may share this unit of work (group commit): start watching
        what the next one touches."""
        self.watched = {}
        self.claims_mark = len(self.claims)

    def end_command(self) -> None:
        """Index the participants the command changed, so that the next command of the
        batch finds the event key index as it will be once this one is committed."""
        self._index_participants([aggregate for aggregate, _ in self.watched.values()])

    def left_trace(self) -> bool:
        """Whether the current command changed anything: a refused command that did must
        not be committed with the others, so the batch is decided again without it."""
        return len(self.claims) != self.claims_mark or any(
            len(aggregate.pending_events) != pending for aggregate, pending in self.watched.values()
        )

    def _watch(self, aggregate: LedgerAggregate) -> None:
        if id(aggregate) not in self.watched:
            self.watched[id(aggregate)] = (aggregate, len(aggregate.pending_events))

    def _loaded(self, aggregate: LedgerAggregate) -> None:
        if isinstance(aggregate, Participant):
            self.event_keys.setdefault(aggregate.id, self.event_key(aggregate))

    def _index_participants(self, aggregates: Iterable[LedgerAggregate]) -> None:
        """Keep each event's key index in step with the participants that changed.

        An entry is only offered: the first live participant of a key in an event holds it
        (an event with several bookings has a person more than once). A registration in an
        event with one booking each claims it, and so does an import (decision 0050,
        domain/import_rows.py).
        """
        for aggregate in aggregates:
            if not isinstance(aggregate, Participant) or not aggregate.pending_events:
                continue
            before, after = self.event_keys.get(aggregate.id), self.event_key(aggregate)
            if before == after:
                continue
            self.event_keys[aggregate.id] = after
            scope = aggregate.organiser_event_id
            assert scope is not None
            if before is not None:
                self.release(scope, before, aggregate.id)
            if after is not None and self.overlay.get((scope, after)) != aggregate.id:
                self.offer(scope, after, aggregate.id)  # unless it claimed it

    def commit(self) -> int | None:
        """Save what the commands changed, with their key claims, in one transaction (the
        ledger's one save path); the log position, if anything was saved. A lost race
        raises IntegrityError."""
        for aggregate_id in self.shared:
            if self.aggregates[aggregate_id].pending_events:
                raise RuntimeError(f"{aggregate_id} was loaded read-only but modified")
        self._index_participants(self.aggregates.values())
        recordings = self.app.save_aggregates(
            list(self.aggregates.values()), key_claims=self.claims
        )
        position = recordings[-1].notification.id if recordings else None
        # Only what this command loaded for update: re-caching a shared copy would restart
        # its expiry on every commit and could keep stale settings forever.
        fresh = [a for i, a in self.aggregates.items() if i not in self.shared]
        self.app.committed(fresh)
        return position


def _applied(change: KeyOffer | KeyRelease, holder: UUID | None) -> UUID | None:
    """Who holds a key after an offer (taken if free) or a release (if still held)."""
    if isinstance(change, KeyOffer):
        return change.holder_id if holder is None else holder
    return None if holder == change.holder_id else holder
