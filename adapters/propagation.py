"""The propagation follow-up: brings a hot contact's participants in line after the command
that changed it (decision 0049).

A command whose contact has more participants than it should write records
`Contact.PropagationQueued` instead. This follower reads those events from the log like
a projector (it is one: `adapters/projector.py` runs it, tracked in `rm_tracking`, started
by `serve` and `project`) and runs, per contact, one command per 200 participants
(domain/propagation.py decides what they get). Its writes are events in the log, not
rows beside its position, so they cannot commit in one transaction with it: the position
moves after them. A crash in between applies the page again, which writes nothing twice
(a participant already in line is not written).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Engine

from adapters.clock import utc_now
from adapters.ledger import SealedContactLedger
from adapters.sql.tracking import TrackedStore
from domain.contacts import Contact
from domain.ledger_core import BusyError
from domain.propagation import run_queued

log = logging.getLogger("contact_ledger.propagation")
NAME = "propagation"
VERSION = 1
BUSY_RETRIES = 10  # a chunk that kept losing races (30 s each) stops the follower


class PropagationFollower(TrackedStore):
    """Applies `Contact.PropagationQueued`, as a read model's store applies its events."""

    name = NAME
    version = VERSION
    tables = ()
    topics: frozenset[str] | None = frozenset(
        {f"{Contact.PropagationQueued.__module__}:{Contact.PropagationQueued.__qualname__}"}
    )
    positioned = False
    personal = False  # names and origin only: the values are read from the contact

    def __init__(
        self,
        engine: Engine,
        ledger: SealedContactLedger,
        clock: Callable[[], datetime] = utc_now,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(engine)
        self.ledger = ledger
        self.clock = clock
        self.pause = pause

    def apply(self, events: Sequence[Any], start: int, end: int) -> None:
        """One pass per contact for the whole page (its names merged): what several
        commands queued for one contact is done once, with its values as they are now."""
        for contact_id, (names, event) in _by_contact(events).items():
            self._propagate(contact_id, names, event)
        with self.advancing(start, end):
            pass

    def _propagate(self, contact_id: UUID, names: set[str], event: Any) -> None:
        for attempt in range(BUSY_RETRIES):
            try:
                run_queued(self.ledger, contact_id, names, event.via, self.clock(), event.meta)
                return
            except BusyError:
                if attempt == BUSY_RETRIES - 1:
                    raise
                log.warning("propagation of a contact lost its races; trying again")
                self.pause(1.0)


def _by_contact(events: Sequence[Any]) -> dict[UUID, tuple[set[str], Any]]:
    """Each contact's queued names merged, with the last event (its origin and meta)."""
    merged: dict[UUID, tuple[set[str], Any]] = {}
    for event in events:
        names = merged.get(event.originator_id, (set(), None))[0]
        merged[event.originator_id] = (names | set(event.names), event)
    return merged
