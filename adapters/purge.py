"""The purge (F11, F12): erase what the restore window no longer covers, then scrub.

Safe beside live traffic and beside another purge: each erasure is one command that
re-checks, on the aggregate, that the record is still deleted and due (a restore that won
the race makes it a no-op; a second purge finds it erased). The work list comes from the
grid read model; the projector is caught up first so that what was just erased is blanked
there too, and then the storage is scrubbed so that no old page keeps a plaintext copy:
SQLite checkpoints and truncates its WAL (deleted content is zeroed by `secure_delete`),
PostgreSQL vacuums the tables that held the person. Each run also deletes the expired
answers of idempotency keys.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from sqlalchemy import Engine

from adapters.idempotency import IdempotencyStore
from adapters.projector import Projector
from adapters.sql.grid_queries import SqlGrid
from adapters.threads import Backoff, joined, transient
from domain import commands
from domain.application import ContactLedger
from domain.meta import Meta, Origin, Role

log = logging.getLogger("contact_ledger.purge")
SCRUBBED_TABLES = (
    "rm_contacts",
    "rm_participants",
    "rm_audit",
    "rm_audit_subjects",
    "ledger_subject_keys",
    "idempotency_keys",
)


@dataclass(frozen=True)
class PurgeReport:
    as_of: datetime
    contacts: int
    participants: int
    expired_answers: int = 0  # of idempotency keys


class Purger:
    def __init__(
        self,
        ledger: ContactLedger,
        grid: SqlGrid,
        projectors: list[Projector],
        engine: Engine,
        clock: Callable[[], datetime],
        idempotency: IdempotencyStore,
    ) -> None:
        self.ledger, self.grid, self.projectors = ledger, grid, projectors
        self.engine, self.clock, self.idempotency = engine, clock, idempotency
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def run(self, as_of: datetime | None = None, batch: int = 500) -> PurgeReport:
        """Erase everything due at `as_of` (default: now). Running it again does nothing."""
        as_of = as_of or self.clock()
        meta = Meta("purge", Role.COMPLIANCE.value, Origin.PURGE.value, str(uuid4()))
        erased = {"contacts": 0, "participants": 0}
        seen: set[object] = set()
        self._catch_up()
        while True:
            contacts, participants = self.grid.due_for_erasure(as_of, batch)
            page = {i for _, i in contacts + participants}
            if not page or page <= seen:  # nothing left, or only what the log says is not due
                break
            seen |= page
            for account_id, contact_id in contacts:
                cmd = commands.EraseContact(account_id, contact_id, "purge", due_at=as_of)
                done = self.ledger.erase_contact(cmd, self.clock(), meta).detail is not None
                erased["contacts"] += done  # not when another purge got there first
            for account_id, participant_id in participants:
                lone = commands.EraseParticipant(account_id, participant_id, due_at=as_of)
                done = self.ledger.erase_participant(lone, self.clock(), meta).detail is not None
                erased["participants"] += done
            self._catch_up()  # blanks the rows: the next page is the rest
        expired = self.idempotency.sweep(self.clock())  # now, whatever `as_of` says
        if erased["contacts"] or erased["participants"]:
            self.scrub()
        log.info("purge as of %s: %s, %d expired answers", as_of.isoformat(), erased, expired)
        return PurgeReport(as_of, erased["contacts"], erased["participants"], expired)

    def _catch_up(self) -> None:
        """Every read model applies what is in the log (the grid first: the work list)."""
        for projector in self.projectors:
            projector.catch_up()

    def scrub(self) -> None:
        """Leave no old copy of erased rows in the database files."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                for _ in range(50):  # readers can hold the WAL: retry briefly
                    busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                    if busy is None or busy[0] == 0:
                        return
                    time.sleep(0.1)
            log.warning("purge: the WAL is busy; erased rows leave it at the next checkpoint")
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
            for table in SCRUBBED_TABLES:
                connection.exec_driver_sql(f'VACUUM "{schema}"."{table}"')

    # --- periodically, inside `serve` ------------------------------------------------

    def start(self, every_seconds: float) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(every_seconds,), name="purge", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        joined(self._thread, 10, log)

    def _loop(self, every_seconds: float) -> None:
        """Purge every `every_seconds`. A round cut by a lost database connection runs
        again as soon as the database answers (back-off up to 5 s), not a period later;
        one that failed otherwise waits for the next period."""
        backoff = Backoff(self._stop)
        wait = every_seconds
        while not self._stop.wait(wait):
            wait = every_seconds
            try:
                self.run()
            except Exception as error:  # keep serving; the next round retries what is left
                if transient(error):
                    backoff.failed(log, "the purge", error)
                    wait = 0
                    continue
                log.exception("purge failed; it will run again in %s s", every_seconds)
            else:
                backoff.succeeded(log, "the purge")
