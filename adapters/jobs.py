"""Long jobs (F18): bulk actions on a selection or a whole view, run in the background.

A job is a row in `jobs`; the contacts it works on are resolved once, when it starts, into
`job_items` (the view as it was then), and processed in batches, one transaction each.
Progress is saved after every batch. A runner claims a queued job with compare-and-set,
so one job runs once even with several runners; a job whose runner died (no heartbeat
for `stale_seconds`) is taken over and resumes after its last saved batch. Every step is
idempotent (a batch done again changes nothing; marketing emails have per-job ids).

Nothing personal is kept: the report holds contact ids and reasons, and a finished job's
arguments (field values, a filter that may name a person) are reduced to their names.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)

from adapters import wakeups
from adapters.settings import Database
from adapters.sql.engine import create_tables
from adapters.sql.grid_queries import SqlGrid
from adapters.threads import Backoff, joined, transient
from domain import commands
from domain.application import BulkStep, ContactLedger, InvalidInputError
from domain.bulk import parse_action
from domain.fields import FieldType
from domain.meta import Meta, Origin
from domain.segments import parse_segment
from projections.grid_query import GridQuery

log = logging.getLogger("contact_ledger.jobs")
BATCH = 100
PLAIN_PARAMS = frozenset({"import"})  # arguments without personal data: kept when done
REPORT_CAP = 1_000  # skipped rows kept with their reason; the count is always exact

metadata = MetaData()
jobs = Table(
    "jobs",
    metadata,
    Column("job_id", Uuid, primary_key=True),
    Column("account_id", Uuid, nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("params", JSON, nullable=False),
    Column("selection", JSON, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("total", Integer),
    Column("processed", Integer, nullable=False, default=0),
    Column("changed", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("report", JSON, nullable=False),
    Column("position", Integer, nullable=False),  # the log's head when it was asked for
    Column("error", Text),
    Column("actor", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
)
items = Table(
    "job_items",
    metadata,
    Column("job_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("contact_id", Uuid, nullable=False),
)


class JobNotFoundError(Exception):
    def __init__(self, job_id: UUID) -> None:
        super().__init__(f"job {job_id} not found")


class JobRefusedError(Exception):
    """Raised by a job that finds, before it changed anything, that it cannot run."""


@dataclass(frozen=True)
class Job:
    job_id: UUID
    account_id: UUID
    action: str
    params: dict[str, Any]
    selection: dict[str, Any]
    status: str  # queued, running, done, failed, refused
    total: int | None
    processed: int
    changed: int
    unchanged: int
    skipped: int
    report: list[dict[str, str]]
    error: str | None
    actor: str
    role: str
    position: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def check_job(
    ledger: ContactLedger,
    account_id: UUID,
    action: str,
    params: dict[str, Any],
    selection: Any,
    at: datetime,
) -> None:
    """Refuse a job that could not run, before it is queued (raises the domain's errors)."""
    account = ledger.account(account_id)
    if action == "backfill":
        if selection is not None:
            raise InvalidInputError("backfill works on an event's participants: no selection")
        cmd = _backfill_command(account_id, params)
        if cmd.segment is not None:
            parse_segment(cmd.segment)  # a bad segment is refused now, not when the job runs
        event = ledger.organiser_event(account_id, cmd.organiser_event_id)
        if not event.sync_enabled:
            raise InvalidInputError(f"contact sync is not enabled for event {event.id}")
        return
    parse_action(action, params, account)
    if selection is None:
        raise InvalidInputError("a bulk action on contacts needs a selection")
    selection_query(ledger, account_id, selection, at)


def selection_query(
    ledger: ContactLedger, account_id: UUID, selection: dict[str, Any], now: datetime
) -> GridQuery | None:
    """The contact grid query of a `{"view": {...}}` selection (None for named contacts)."""
    if "contact_ids" in selection:
        return None
    view = selection["view"]
    account = ledger.account(account_id)
    if view.get("view_id") is not None:
        saved = account.views.get(UUID(str(view["view_id"])))
        if saved is None or saved.grid != "contacts":
            raise InvalidInputError(f"view {view['view_id']} is not a saved contact view")
        view = {"q": saved.q, "filter": saved.filter, **{k: v for k, v in view.items() if v}}
    group_id = UUID(str(view["group_id"])) if view.get("group_id") else None
    if group_id is not None and group_id not in account.groups:
        raise InvalidInputError(f"group {group_id} not found")
    event_id = UUID(str(view["event_id"])) if view.get("event_id") else None
    if event_id is not None:
        ledger.organiser_event(account_id, event_id)  # 404 if not ours
    listed = frozenset(
        d.name for d in account.field_definitions.values() if d.type is FieldType.MULTIPLE_CHOICE
    )
    return GridQuery(
        account_id=account_id,
        event_id=event_id,
        q=view.get("q"),
        filter=parse_segment(view["filter"]) if view.get("filter") else None,
        sort="name",
        limit=500,
        group_id=group_id,
        now=now,
        list_fields=listed,
    )


def _backfill_command(account_id: UUID, params: dict[str, Any]) -> commands.BackfillSync:
    unknown = set(params) - {"event_id", "segment"}
    if unknown or "event_id" not in params:
        raise InvalidInputError("backfill takes event_id and, optionally, segment")
    try:
        event_id = UUID(str(params["event_id"]))
    except ValueError:
        raise InvalidInputError("event_id must be a UUID") from None
    return commands.BackfillSync(account_id, event_id, params.get("segment"))


class JobStore:
    def __init__(self, engine: Engine, channel: str = "") -> None:
        self.engine = engine
        self.channel = channel  # PostgreSQL: NOTIFYed when a job is queued ("": none)
        create_tables(metadata, engine)

    def create(
        self,
        account_id: UUID,
        action: str,
        params: dict[str, Any],
        selection: dict[str, Any] | None,
        meta: Meta,
        at: datetime,
        position: int,
        job_id: UUID | None = None,
    ) -> UUID:
        """Queue a job (under `job_id` if given: what it needs may be stored first)."""
        job_id = job_id or self.new_id()
        with self.engine.begin() as connection:
            connection.execute(
                insert(jobs).values(
                    job_id=job_id,
                    account_id=account_id,
                    action=action,
                    params=_plain(params),
                    selection=_plain(selection or {}),
                    status="queued",
                    processed=0,
                    changed=0,
                    unchanged=0,
                    skipped=0,
                    report=[],
                    actor=meta.actor,
                    role=meta.role,
                    position=position,
                    created_at=at,
                )
            )
            self._queued(connection)
        return job_id

    def _queued(self, connection: Any) -> None:
        """Wake the job runner of whichever process runs jobs (at commit)."""
        if self.channel and self.engine.dialect.name == "postgresql":
            wakeups.notify(connection, self.channel)

    @staticmethod
    def new_id() -> UUID:
        return uuid4()

    def get(self, account_id: UUID, job_id: UUID) -> Job:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(jobs).where(jobs.c.job_id == job_id, jobs.c.account_id == account_id)
            ).first()
        if row is None:
            raise JobNotFoundError(job_id)
        return Job(**{c.name: getattr(row, c.name) for c in jobs.columns if c.name in JOB_FIELDS})

    def claim(self, now: datetime, stale_seconds: float) -> Job | None:
        """Take a queued job, or one whose runner stopped beating; None if there is none."""
        stale = now - timedelta(seconds=stale_seconds)
        with self.engine.connect() as connection:
            candidates = connection.execute(
                select(jobs.c.job_id, jobs.c.account_id, jobs.c.heartbeat_at)
                .where(
                    or_(
                        jobs.c.status == "queued",
                        and_(jobs.c.status == "running", jobs.c.heartbeat_at < stale),
                    )
                )
                .order_by(jobs.c.created_at)
                .limit(5)
            ).all()
        for job_id, account_id, beat in candidates:
            with self.engine.begin() as connection:
                taken = connection.execute(
                    update(jobs)
                    .where(
                        jobs.c.job_id == job_id,
                        jobs.c.status.in_(("queued", "running")),
                        jobs.c.heartbeat_at.is_(None)
                        if beat is None
                        else jobs.c.heartbeat_at == beat,
                    )
                    .values(
                        status="running",
                        heartbeat_at=now,
                        started_at=func.coalesce(jobs.c.started_at, now),
                    )
                ).rowcount
            if taken == 1:
                return self.get(account_id, job_id)
        return None

    def claim_queued(self, account_id: UUID, job_id: UUID, now: datetime) -> Job | None:
        """Take this queued job (None if a runner took it first)."""
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(jobs)
                .where(jobs.c.job_id == job_id, jobs.c.status == "queued")
                .values(status="running", heartbeat_at=now, started_at=now)
            ).rowcount
        return self.get(account_id, job_id) if taken == 1 else None

    def resolve(self, job: Job, contact_ids: Iterator[UUID], at: datetime) -> int:
        """Write the job's contacts once (a resumed job keeps the list it had)."""
        if job.total is not None:
            return job.total
        total = 0
        with self.engine.begin() as connection:
            chunk: list[dict[str, Any]] = []
            for contact_id in contact_ids:
                chunk.append({"job_id": job.job_id, "seq": total, "contact_id": contact_id})
                total += 1
                if len(chunk) == 1000:
                    connection.execute(insert(items), chunk)
                    chunk = []
            if chunk:
                connection.execute(insert(items), chunk)
            connection.execute(
                update(jobs).where(jobs.c.job_id == job.job_id).values(total=total, heartbeat_at=at)
            )
        return total

    def batch(self, job_id: UUID, start: int, size: int) -> list[UUID]:
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    select(items.c.contact_id)
                    .where(items.c.job_id == job_id, items.c.seq >= start)
                    .order_by(items.c.seq)
                    .limit(size)
                ).scalars()
            )

    def progress(self, job: Job, done: int, step: BulkStep, at: datetime) -> Job:
        """Save one batch's counts; returns the job as it now stands."""
        current = self.get(job.account_id, job.job_id)
        room = REPORT_CAP - len(current.report)
        added = [
            {"contact_id": str(contact_id), "reason": reason}
            for contact_id, reason in list(step.skipped.items())[: max(0, room)]
        ]
        with self.engine.begin() as connection:
            connection.execute(
                update(jobs)
                .where(jobs.c.job_id == job.job_id)
                .values(
                    processed=current.processed + done,
                    changed=current.changed + step.changed,
                    unchanged=current.unchanged + step.unchanged,
                    skipped=current.skipped + len(step.skipped),
                    report=current.report + added,
                    heartbeat_at=at,
                )
            )
        return self.get(job.account_id, job.job_id)

    def set_total(self, job: Job, total: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(jobs).where(jobs.c.job_id == job.job_id).values(total=total))

    def release(self, job: Job) -> None:
        """Hand a running job back to the queue (its runner is stopping)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(jobs)
                .where(jobs.c.job_id == job.job_id, jobs.c.status == "running")
                .values(status="queued", heartbeat_at=None)
            )
            self._queued(connection)

    def finish(
        self, job: Job, at: datetime, error: str | None = None, status: str | None = None
    ) -> None:
        """End a job: done, failed (with `error`) or `status` "refused" (with its reason)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(jobs)
                .where(jobs.c.job_id == job.job_id)
                .values(
                    status=status or ("failed" if error else "done"),
                    error=error,
                    total=func.coalesce(jobs.c.total, jobs.c.processed),
                    finished_at=at,
                    params=job.params if job.action in PLAIN_PARAMS else _redacted(job.params),
                    selection=_redacted(job.selection),
                )
            )
            connection.execute(items.delete().where(items.c.job_id == job.job_id))


JOB_FIELDS = frozenset(Job.__dataclass_fields__)
Progress = Callable[[int, int | None], None]  # done, expected (None: not known yet)
Handler = Callable[[Job, Meta, Callable[[], bool], Progress | None], None]  # "stop now?"


class JobRunner:
    """Runs queued jobs one after the other in a background thread (or `run_pending`)."""

    def __init__(
        self,
        store: JobStore,
        ledger: ContactLedger,
        grid: SqlGrid,
        grid_position: Callable[[], int],
        clock: Callable[[], datetime],
        poll_seconds: float = 0.5,
        stale_seconds: float = 300.0,
        grid_wait_seconds: float = 600.0,
        handlers: Mapping[str, Handler] | None = None,
        database: Database | None = None,  # None: look every `poll_seconds` (tests)
    ) -> None:
        self.store, self.ledger, self.grid, self.clock = store, ledger, grid, clock
        self.grid_position, self.grid_wait_seconds = grid_position, grid_wait_seconds
        self.poll_seconds, self.stale_seconds = poll_seconds, stale_seconds
        self.database = database or Database("memory")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._interrupted: Job | None = None  # by a lost connection: queued again first
        self.handlers: dict[str, Handler] = {"backfill": self._backfill, **(handlers or {})}

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        joined(self._thread, 30, log)
        self._thread = None

    def run_pending(self) -> int:
        """Run every job there is now, until the runner is stopped; returns how many ran.
        (A job a stopping runner hands back stays queued for the next runner.)"""
        ran = 0
        if self._interrupted is not None:  # its batch is done again: that changes nothing
            self.store.release(self._interrupted)
            self._interrupted = None
        while (
            not self._stop.is_set()
            and (job := self.store.claim(self.clock(), self.stale_seconds)) is not None
        ):
            self.run(job)
            ran += 1
        return ran

    def _loop(self) -> None:
        """Run what is queued, then wait for a job to be queued (`wakeups.py`): at least
        every `stale_seconds / 10` it looks for a job whose runner died. After a lost
        database connection it retries sooner at first, then less and less often (back-off
        up to 5 s)."""
        backoff = Backoff(self._stop)
        while not self._stop.is_set():
            try:
                self._run_and_wait(backoff)
            except Exception as error:
                if transient(error):
                    backoff.failed(log, "the job runner", error)
                    continue
                log.exception("the job runner failed; retrying")
                self._stop.wait(self.poll_seconds)

    def _run_and_wait(self, backoff: Backoff) -> None:
        longest = self.stale_seconds / 10
        database, stop = self.database, self._stop
        channel = wakeups.jobs_channel(database)
        with wakeups.waiter(database, channel, stop, self.poll_seconds, longest) as wait:
            while not stop.is_set():
                self.run_pending()
                backoff.succeeded(log, "the job runner")
                wait()

    def run(self, job: Job, progress: Progress | None = None) -> None:
        """Run a claimed job to its end (done, failed or refused), telling `progress`."""
        meta = Meta(job.actor, job.role, Origin.JOB.value, str(job.job_id))
        try:
            handler = self.handlers.get(job.action, self._on_contacts)
            handler(job, meta, self._stop.is_set, progress)
        except JobRefusedError as error:
            self.store.finish(job, self.clock(), str(error), status="refused")
        except Exception as error:
            if self._stop.is_set():  # stopped mid-way: the next runner resumes it
                self.store.release(job)
                return
            if transient(error):  # the database went away, not the job: resume it later
                self._interrupted = job
                raise
            # The job was checked when it was asked for: what fails now failed on its own
            # (the state changed meanwhile, the database went away). Say so on the job.
            log.exception("job %s failed", job.job_id)
            self.store.finish(job, self.clock(), f"{type(error).__name__}: {error}")
        else:
            self.store.finish(job, self.clock())

    def _on_contacts(
        self, job: Job, meta: Meta, stopping: Callable[[], bool], progress: Progress | None
    ) -> None:
        total = self.store.resolve(job, self._selected(job), self.clock())
        done = job.processed
        while done < total and not stopping():
            batch = self.store.batch(job.job_id, done, BATCH)
            cmd = commands.ApplyToContacts(
                job.account_id, tuple(batch), job.action, job.params, job.job_id
            )
            step = self.ledger.apply_to_contacts(cmd, self.clock(), meta).detail
            job = self.store.progress(job, len(batch), step, self.clock())
            done += len(batch)
            if progress is not None:
                progress(done, total)
        if done < total:
            raise InterruptedError("the runner was stopped; the job resumes where it was")

    def _selected(self, job: Job) -> Iterator[UUID]:
        query = selection_query(self.ledger, job.account_id, job.selection, self.clock())
        if query is None:
            yield from dict.fromkeys(UUID(str(i)) for i in job.selection["contact_ids"])
            return
        self._wait_for_grid(job.position)  # the view as it was when the job was asked for
        for row in self.grid.rows(query):
            yield row.contact_id

    def _wait_for_grid(self, position: int) -> None:
        deadline = time.monotonic() + self.grid_wait_seconds
        while self.grid_position() < position:
            if time.monotonic() > deadline or self._stop.is_set():
                raise TimeoutError(f"the contact grid did not reach position {position}")
            time.sleep(0.05)

    def _backfill(
        self, job: Job, meta: Meta, stopping: Callable[[], bool], progress: Progress | None
    ) -> None:
        cmd = _backfill_command(job.account_id, job.params)

        def batch_done(size: int, joined: int) -> None:
            step = BulkStep(changed=joined, unchanged=size - joined)
            done = self.store.progress(job, size, step, self.clock())
            if progress is not None:
                progress(done.processed, None)

        self.ledger.backfill_sync(cmd, self.clock(), meta, batch_done)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _redacted(value: Any) -> Any:
    """Names without values: what a finished job keeps of its arguments."""
    if isinstance(value, dict):
        return {k: _redacted(v) if isinstance(v, dict) else "…" for k, v in value.items()}
    return "…"
