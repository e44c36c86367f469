"""Group commit: the commands waiting in this process are decided together and committed once.

A command's thread queues it, then waits for the writer's turn. Whoever gets the turn
takes every command queued (up to MAX_BATCH), decides them in order against one unit of
work (`ContactLedger.run_batch`, domain/batch.py) and commits them in one transaction,
then hands each waiting thread its own outcome. While one batch is written, the next one
gathers: under load a transaction carries many commands; alone, a command is a batch of
one and waits for nobody (decision 0048).

A batch that lost a race to another process (a version or key-index conflict, or stale
settings) is decided again on fresh state after a jittered, doubling pause, for up to
RETRY_SECONDS, then its commands answer BusyError (503). A commit that fails otherwise
fails exactly the commands in it; nothing of them is written (one transaction).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.threads import described
from domain.application import BusyError, ContactLedger
from domain.batch import RACES, Decide, Decision

log = logging.getLogger(__name__)

MAX_BATCH = 64  # commands per transaction: bounds how long the last one waits for the first
RETRY_SECONDS = 30.0
FIRST_PAUSE, MAX_PAUSE = 0.001, 0.25  # seconds: doubling, jittered, capped
BUSY = "too many concurrent changes to the same records; try again"


class CommitFailedError(BusyError):
    """Raised when the database refused a batch's commit: none of its commands was saved."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"the change was not saved ({described(cause)}); try again")


@dataclass
class _Ticket:
    decide: Decide
    done: threading.Event = field(default_factory=threading.Event)
    decision: Decision | None = None
    position: int | None = None


class GroupCommit:
    """Runs commands for a ledger, many to a transaction when they arrive together."""

    def __init__(
        self,
        ledger: ContactLedger,
        max_batch: int = MAX_BATCH,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ledger, self.max_batch, self.pause = ledger, max_batch, pause
        self._queue: list[_Ticket] = []
        self._changed = threading.Condition()  # guards the queue and `_writing`
        self._writing = False
        self._writer = threading.local()  # set while this thread writes a batch
        self.batches = self.commands = 0  # counters for benches and metrics

    def __call__(self, decide: Decide) -> tuple[Any, int | None]:
        """`decide`'s value and the position of the transaction that committed it."""
        if getattr(self._writer, "active", False):  # a command run from inside a command
            return self.ledger.run_alone(decide)
        ticket = _Ticket(decide)
        with self._changed:
            self._queue.append(ticket)
        while not ticket.done.is_set():  # more than MAX_BATCH waiting: several turns
            with self._changed:
                while self._writing and not ticket.done.is_set():
                    self._changed.wait()
                batch = [] if ticket.done.is_set() else self._take()
            if batch:
                try:
                    self._write(batch)
                finally:
                    with self._changed:
                        self._writing = False
                        self._changed.notify_all()
        assert ticket.decision is not None
        return ticket.decision.result(), ticket.position

    def _take(self) -> list[_Ticket]:
        """Become the writer of what is queued (the caller holds `_changed`)."""
        self._writing = True
        batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        return batch

    def _write(self, batch: list[_Ticket]) -> None:
        # what the batch answers if this thread is interrupted before it decides it
        decisions, position = [Decision(error=BusyError(BUSY)) for _ in batch], None
        self._writer.active = True
        try:
            decisions, position = self._commit([t.decide for t in batch])
        except Exception as error:
            if not isinstance(error, BusyError):
                log.warning(
                    "a batch of %d commands was not saved: %s", len(batch), described(error)
                )
            decisions = [Decision(error=_failed(error)) for _ in batch]
        finally:
            self._writer.active = False
            for ticket, decision in zip(batch, decisions, strict=True):
                ticket.decision, ticket.position = decision, position
                ticket.done.set()
        self.batches, self.commands = self.batches + 1, self.commands + len(batch)

    def _commit(self, decides: list[Decide]) -> tuple[list[Decision], int | None]:
        """`run_batch`, again after a lost race, with back-off, until RETRY_SECONDS."""
        deadline = time.monotonic() + RETRY_SECONDS
        attempt = 0
        while True:
            try:
                return self.ledger.run_batch(decides)
            except RACES:
                attempt += 1
            wait = random.uniform(0, min(MAX_PAUSE, FIRST_PAUSE * 2**attempt))
            if time.monotonic() + wait > deadline:
                raise BusyError(BUSY)
            self.pause(wait)


def _failed(error: Exception) -> BusyError:
    """Each command of a failed batch gets an error of its own to raise (503)."""
    return BusyError(BUSY) if isinstance(error, BusyError) else CommitFailedError(error)
