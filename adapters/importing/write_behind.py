"""An import's batches sealed and saved by another process, so that deciding the next batch
and saving the last one use both cores (decision 0029).

Deciding a batch (the domain's rules, in the job's process) and saving it (sealing each
event's personal data, encoding it, inserting it) each took about half of the job's time,
under one interpreter lock. `writing_behind` starts a helper (`python -m
adapters.importing.write_behind`, see `child.py`) with the ledger's settings, sent over its
input, never on its command line; its `save` is a `UnitOfWork.commit` save: it takes the
events out of the batch's aggregates and sends them, with the new data subjects and the key
claims, to the helper, which saves them in one transaction as the ledger would have
(`SealedContactLedger.record_events`) and answers with the log position. A save that lost
a race answers "conflict" and `save` raises IntegrityError, as the ledger's own save does:
the caller decides the batch again (`ContactLedger.commit_import`). `save` is `send` then
`answer`; the job sends the next batch while the helper saves one, and takes the answers
in turn (`ContactLedger.settle_import`, decision 0030). The rows' outcomes and
the job's progress are still saved by the job, after the helper answered, so a crash leaves
what it left before (decision 0022).
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import IO

from eventsourcing.persistence import IntegrityError

from adapters.collector import collector_paused
from adapters.importing.child import received, send, send_error, serve, started
from adapters.ledger import born_subjects, build_ledger
from adapters.settings import Settings
from domain.aggregate import LedgerAggregate
from domain.claims import Claim

WHO = "saving the import's batches"


class WriteBehind:
    """The job's end of the helper: batches are sent, and answered for, in order."""

    def __init__(self, to_helper: IO[bytes], from_helper: IO[bytes]) -> None:
        self.to_helper, self.from_helper = to_helper, from_helper

    def save(self, aggregates: list[LedgerAggregate], claims: list[Claim]) -> int | None:
        """A `Save`: the batch sent, then its answer."""
        self.send(aggregates, claims)
        return self.answer()

    def send(self, aggregates: list[LedgerAggregate], claims: list[Claim]) -> None:
        """A `Save` that only sends: `answer` tells, later, what became of the batch.
        The helper saves batches in the order they were sent and answers in that order."""
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        subjects = born_subjects(events, {aggregate.id: aggregate for aggregate in aggregates})
        send(self.to_helper, "save", (events, subjects, claims))

    def answer(self) -> int | None:
        """The log position of the oldest batch sent and not yet answered for; IntegrityError
        if it lost a race."""
        kind, payload = received(self.from_helper, WHO)
        if kind == "conflict":
            raise IntegrityError(payload)
        position: int | None = payload
        return position


@contextmanager
def writing_behind(settings: Settings) -> Iterator[WriteBehind]:
    """Saves into the store `settings` name, by a helper process, while inside: `save`
    (a `Save`), or `send` then `answer`."""
    with started(__name__, talk=True) as child:
        assert child.stdin is not None and child.stdout is not None
        send(child.stdin, "settings", settings)
        yield WriteBehind(child.stdin, child.stdout)


def one_connection(settings: Settings) -> Settings:
    """The helper saves one batch at a time: one connection, not a server's pool of ten
    (each batch on the next of them, round the pool, each with its own caches and its
    own plans of the insert function: PostgreSQL spent 6-10 % more on a row)."""
    return replace(settings, database=replace(settings.database, pool_size=1))


def _serve(source: IO[bytes], out: IO[bytes]) -> None:
    """In the helper: the settings, then a batch at a time until the input ends."""
    ledger = None
    try:
        _, settings = pickle.load(source)
        ledger = build_ledger(one_connection(settings))
        while True:
            # A batch's objects all live until it is saved: the collector's passes would
            # walk them and free nothing (a tenth of the helper's time; decision 0028).
            with collector_paused():
                try:
                    _, (events, subjects, claims) = pickle.load(source)
                except EOFError:
                    return  # the import is over
                try:
                    send(out, "saved", ledger.record_events(events, subjects, claims))
                except IntegrityError as conflict:
                    send(out, "conflict", str(conflict))
    except Exception as error:
        send_error(out, error)
    finally:
        if ledger is not None:
            ledger.close()


def main() -> None:
    serve(partial(_serve, sys.stdin.buffer))


if __name__ == "__main__":
    main()
