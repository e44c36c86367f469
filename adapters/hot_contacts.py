"""Hot aggregates: long histories kept in memory, so loading one costs its new events only.

A person who registers again and again has a contact whose history grows with every
registration; replaying it on every command made each command cost more than the last
(decision 0049). After a command (or a load) an aggregate of at least THRESHOLD events
is kept here for `ttl` seconds. The next load takes a copy of it and fast-forwards it by
the events recorded since its version (one query), whoever recorded them: the copy is
always the stored truth, never a guess.

Personal data must not outlive an erasure in memory either: an aggregate is forgotten
when its subject is shredded in this process, is never kept once erased, and is dropped
at expiry (an erasure in another process: at most `ttl` seconds, as the key ring's cache).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from domain.aggregate import LedgerAggregate

THRESHOLD = 32  # events: below it, replaying is as cheap as copying
TTL_SECONDS = 60.0
MAX_ENTRIES = 2_000


class HotAggregates:
    """Copies of aggregates with long histories, per process, for `ttl` seconds."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        threshold: int = THRESHOLD,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.threshold = threshold
        self.max_entries = max_entries
        self.clock = clock
        self._items: dict[UUID, tuple[LedgerAggregate, float]] = {}
        self._lock = threading.Lock()

    def take(self, aggregate_id: UUID) -> LedgerAggregate | None:
        """A private copy of the kept aggregate (None: not kept, or expired)."""
        with self._lock:
            item = self._items.get(aggregate_id)
            if item is not None and item[1] < self.clock():
                del self._items[aggregate_id]
                item = None
        return None if item is None else copied(item[0])

    def keep(self, aggregate: LedgerAggregate) -> None:
        """Keep a copy of a saved (or loaded) aggregate if its history is long."""
        if getattr(aggregate, "erased", False):
            self.forget([aggregate.id])
            return
        if aggregate.version < self.threshold or aggregate.pending_events or self.ttl <= 0:
            return
        kept = copied(aggregate)
        with self._lock:
            current = self._items.get(aggregate.id)
            if current is not None and current[0].version > kept.version:
                return  # a newer one was kept meanwhile
            self._items.pop(aggregate.id, None)  # re-inserted last: the newest is kept longest
            self._items[aggregate.id] = (kept, self.clock() + self.ttl)
            if len(self._items) > self.max_entries:
                self._drop_oldest()

    def forget(self, aggregate_ids: Iterable[UUID]) -> None:
        with self._lock:
            for aggregate_id in aggregate_ids:
                self._items.pop(aggregate_id, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def _drop_oldest(self) -> None:
        now = self.clock()
        for aggregate_id in [i for i, (_, until) in self._items.items() if until < now]:
            del self._items[aggregate_id]
        while len(self._items) > self.max_entries:
            del self._items[next(iter(self._items))]


def copied(aggregate: LedgerAggregate) -> Any:
    """A copy whose containers are its own. Events replace what they hold (a value, a
    frozen record) or add to and take from a container; they never change a value in
    place, so copying the containers is enough (a deep copy costs ten times more)."""
    made = object.__new__(type(aggregate))
    made.__dict__.update((name, _container(value)) for name, value in aggregate.__dict__.items())
    return made


def _container(value: Any) -> Any:
    if isinstance(value, dict | set | list):
        return type(value)(value) if type(value) in (dict, set, list) else value.copy()
    return value
