"""Which account each event of the log belongs to, in bounded memory.

Only some events carry `account_id`: every aggregate's first event does (the Account's
own events belong to it), later ones such as `Participant.Linked` do not. Walking the
log in order, the owner of each aggregate is learned from its first event and kept in a
bounded LRU map; an aggregate not in the map (created before `--after`, or evicted) is
resolved by reading its first event by primary key, one query per page for all of them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from adapters.ledger import SealedContactLedger
from domain.accounts import Account

KEPT = 50_000  # aggregates whose account is remembered (about 10 MB)
ACCOUNT_EVENTS = get_topic(Account) + "."


class AccountResolver:
    def __init__(self, ledger: SealedContactLedger, kept: int | None = None) -> None:
        self.ledger = ledger
        self.kept = KEPT if kept is None else kept
        self.lookups = 0  # aggregates resolved from their stored first event
        self._owners: OrderedDict[UUID, UUID | None] = OrderedDict()

    def accounts_of(self, events: Sequence[Any]) -> list[UUID | None]:
        """The account of each event (None for an aggregate of no account)."""
        found: list[UUID | None] = []
        missing: dict[int, UUID] = {}
        for index, event in enumerate(events):
            owner = self._known(event)
            if owner is None and event.originator_id not in self._owners:
                missing[index] = event.originator_id
            found.append(owner)
        if missing:
            owners = self._look_up(set(missing.values()))
            for index, aggregate_id in missing.items():
                found[index] = owners.get(aggregate_id)
        return found

    def _known(self, event: Any) -> UUID | None:
        """From the event itself, else from the map; learns from first events."""
        aggregate_id = event.originator_id
        owner = _carried(event)
        if owner is not None or event.originator_version == 1:
            self._remember(aggregate_id, owner)
            return owner
        if aggregate_id in self._owners:
            self._owners.move_to_end(aggregate_id)
            return self._owners[aggregate_id]
        return None

    def _look_up(self, aggregate_ids: set[UUID]) -> dict[UUID, UUID | None]:
        self.lookups += len(aggregate_ids)
        recorder: Any = self.ledger.recorder
        stored = recorder.select_first_events(aggregate_ids)
        owners = {s.originator_id: self._owner_in(s) for s in stored}
        for aggregate_id, owner in owners.items():
            self._remember(aggregate_id, owner)
        return owners

    def _owner_in(self, stored: StoredEvent) -> UUID | None:
        """The owner named by a stored first event, read without unsealing anything."""
        if stored.topic.startswith(ACCOUNT_EVENTS):  # ids are UUIDs (originator_id_type)
            return stored.originator_id if isinstance(stored.originator_id, UUID) else None
        owner = self.ledger.mapper.transcoder.decode(stored.state).get("account_id")
        return owner if isinstance(owner, UUID) else None

    def _remember(self, aggregate_id: UUID, owner: UUID | None) -> None:
        self._owners[aggregate_id] = owner
        self._owners.move_to_end(aggregate_id)
        while len(self._owners) > self.kept:
            self._owners.popitem(last=False)


def _carried(event: Any) -> UUID | None:
    """The account an event names: its own id for an Account, else its `account_id`."""
    if isinstance(event, Account.Event):
        return event.originator_id
    return getattr(event, "account_id", None)
