"""The purge (F11, F12): erase what the restore window no longer covers, then scrub.

Safe beside live traffic and beside another purge: each erasure is one command that
re-checks, on the aggregate, that the record is still deleted and due (a restore that won
the race makes it a no-op; a second purge finds it erased). The work list comes from the
grid read model; the projector is caught up first so that what was just erased is blanked
there too. Each run also deletes the expired answers of idempotency keys.

The scrub leaves no old copy of what erasures removed in the database's files: SQLite
checkpoints and truncates its WAL (deleted content is zeroed by `secure_delete`);
PostgreSQL rewrites the tables that can hold a person (`VACUUM FULL`: a plain VACUUM only
marks dead rows free, their bytes and the index keys stay in the files). Rewriting locks
each table while it is copied, so it is batched (decision 0035): a purge run scrubs when
subjects were shredded since the last scrub and that scrub is `scrub_every` old, or when
asked to (`purge --scrub`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Table,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError

from adapters.idempotency import IdempotencyStore
from adapters.projector import Projector
from adapters.sql.engine import create_tables
from adapters.sql.grid_queries import SqlGrid
from adapters.threads import Backoff, joined, transient
from domain import commands
from domain.application import ContactLedger
from domain.meta import Meta, Origin, Role

log = logging.getLogger("contact_ledger.purge")
# Every table whose rows (or index keys) can hold an erased person's plaintext or keys:
# the read models, the subject keys and key index, stored HTTP answers, import files and
# rows, bulk jobs' parameters. Not the event store: it holds personal data only sealed.
SCRUBBED_TABLES = (
    "rm_contacts",
    "rm_participants",
    "rm_audit",
    "rm_audit_subjects",
    "ledger_subject_keys",
    "ledger_contact_keys",
    "idempotency_keys",
    "import_files",
    "import_rows",
    "jobs",
)
LOCK_WAIT = "10s"  # per table: a reader longer than that makes the scrub retry next run
HORIZON_WAIT_SECONDS = 60.0

metadata = MetaData()
scrubs = Table(  # one row: the last scrub, and how many subjects were shredded before it
    "ledger_scrubs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("scrubbed_at", DateTime(timezone=True), nullable=False),
    Column("shredded", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class PurgeReport:
    as_of: datetime
    contacts: int
    participants: int
    expired_answers: int = 0  # of idempotency keys
    scrubbed: bool = False


@dataclass(frozen=True)
class ScrubReport:
    done: bool  # False: something kept old rows; the next purge run tries again
    seconds: dict[str, float] = field(default_factory=dict)  # per table (or "wal")
    why_not: str = ""


class Purger:
    def __init__(
        self,
        ledger: ContactLedger,
        grid: SqlGrid,
        projectors: list[Projector],
        engine: Engine,
        clock: Callable[[], datetime],
        idempotency: IdempotencyStore,
        scrub_every: timedelta = timedelta(hours=168),
    ) -> None:
        self.ledger, self.grid, self.projectors = ledger, grid, projectors
        self.engine, self.clock, self.idempotency = engine, clock, idempotency
        self.scrub_every = scrub_every
        self._on_disk = engine.url.database not in (None, "", ":memory:")  # not memory://
        if self._on_disk:
            create_tables(metadata, engine)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def run(
        self,
        as_of: datetime | None = None,
        batch: int = 500,
        scrub: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> PurgeReport:
        """Erase everything due at `as_of` (default: now), then scrub if it is due (or
        `scrub`); `progress` is told of each page's erasures. Running it again does nothing."""
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
            if progress is not None:
                progress(len(contacts) + len(participants))
            self._catch_up()  # blanks the rows: the next page is the rest
        expired = self.idempotency.sweep(self.clock())  # now, whatever `as_of` says
        scrubbed = (scrub or self.scrub_due()) and self.scrub().done
        log.info("purge as of %s: %s, %d expired answers", as_of.isoformat(), erased, expired)
        return PurgeReport(as_of, erased["contacts"], erased["participants"], expired, scrubbed)

    def _catch_up(self) -> None:
        """Every read model applies what is in the log (the grid first: the work list)."""
        for projector in self.projectors:
            projector.catch_up()

    # --- the scrub (decision 0035) ----------------------------------------------------

    def scrub_due(self) -> bool:
        """Subjects were shredded since the last scrub, and it is `scrub_every` old."""
        if not self._on_disk:
            return False
        with self.engine.connect() as connection:
            shredded = _shredded(connection)
            last = connection.execute(select(scrubs.c.scrubbed_at, scrubs.c.shredded)).first()
        if last is None:
            return shredded > 0
        at: datetime = last.scrubbed_at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite gives it back naive
        return shredded != last.shredded and self.clock() - at >= self.scrub_every

    def scrub(self) -> ScrubReport:
        """Leave no copy of what the erasures so far removed in the database's files: the
        read models are caught up (their rows blanked), then the storage is scrubbed."""
        if not self._on_disk:
            return ScrubReport(True)
        with self.engine.connect() as connection:
            shredded = _shredded(connection)  # what this scrub covers: committed before it
        self._catch_up()
        sqlite = self.engine.dialect.name == "sqlite"
        report = self._checkpoint() if sqlite else self._rewrite()
        if report.done:
            self._scrubbed(shredded)
        else:
            log.warning("scrub not complete, the next purge run retries: %s", report.why_not)
        return report

    def _checkpoint(self) -> ScrubReport:
        """SQLite: copy the WAL into the file and truncate it (freed cells are zeroed)."""
        started = time.perf_counter()
        with self.engine.connect() as connection:
            for _ in range(50):  # readers can hold the WAL: retry briefly
                busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
                if busy is None or busy[0] == 0:
                    return ScrubReport(True, {"wal": time.perf_counter() - started})
                time.sleep(0.1)
        return ScrubReport(False, why_not="the WAL is busy (a reader holds it)")

    def _rewrite(self) -> ScrubReport:
        """PostgreSQL: VACUUM FULL each table that exists, once no snapshot still sees its
        old rows (VACUUM FULL copies rows that a running transaction may still read)."""
        seconds: dict[str, float] = {}
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            holders = _wait_for_horizon(connection, HORIZON_WAIT_SECONDS)
            if holders:
                return ScrubReport(False, why_not=f"older transactions still open: {holders}")
            connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_WAIT}'")
            schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
            for table in SCRUBBED_TABLES:
                name = f'"{schema}"."{table}"'
                if connection.exec_driver_sql(f"SELECT to_regclass('{name}')").scalar() is None:
                    continue
                started = time.perf_counter()
                try:
                    connection.exec_driver_sql(f"VACUUM FULL {name}")
                except OperationalError as error:
                    if getattr(error.orig, "sqlstate", None) != "55P03":  # lock not available
                        raise
                    return ScrubReport(False, seconds, f"{table} stayed locked {LOCK_WAIT}")
                seconds[table] = time.perf_counter() - started
            connection.exec_driver_sql("RESET lock_timeout")
        return ScrubReport(True, seconds)

    def _scrubbed(self, shredded: int) -> None:
        values = {"id": 1, "scrubbed_at": self.clock(), "shredded": shredded}
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(scrubs).values(values)
        statement = statement.on_conflict_do_update(index_elements=["id"], set_=values)
        with self.engine.begin() as connection:
            connection.execute(statement)

    # --- periodically, inside `serve` ------------------------------------------------

    def start(self, every_seconds: float) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(every_seconds,), name="purge", daemon=True
        )
        self._thread.start()

    def stopping(self) -> None:
        """Ask the thread to stop, without waiting for it (`stop` waits)."""
        self._stop.set()

    def stop(self) -> None:
        self.stopping()
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


def _shredded(connection: Connection) -> int:
    """Subjects shredded so far (erasures add them in their own transaction)."""
    count = connection.execute(text("SELECT count(*) FROM ledger_shredded_subjects")).scalar()
    return int(count or 0)


HOLDERS = """
SELECT pid::text FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
   AND (age(backend_xmin) > age(CAST(:xid AS xid)) OR age(backend_xid) > age(CAST(:xid AS xid)))
UNION ALL
SELECT slot_name::text FROM pg_replication_slots
 WHERE (database IS NULL OR database = current_database())
   AND age(xmin) > age(CAST(:xid AS xid))
"""


def _wait_for_horizon(connection: Connection, timeout: float) -> list[str]:
    """Wait until no session (or replication slot) has a snapshot older than now: what
    they hold back is what VACUUM FULL must keep. The pids or slots still holding it."""
    xid = connection.execute(text("SELECT CAST(pg_current_xact_id() AS text)")).scalar()
    deadline = time.monotonic() + timeout
    while True:
        holders = [str(h) for h in connection.execute(text(HOLDERS), {"xid": xid}).scalars()]
        if not holders or time.monotonic() > deadline:
            return holders
        time.sleep(0.2)
