"""Long jobs (F18), run: bulk actions on a selection or a whole view, in the background.

A runner thread claims queued jobs (`adapters/job_store.py`) and runs each through the
handler of its action: a bulk action on contacts, a backfill, an import (given by the
composition root). Contacts are processed in batches, one transaction each, with progress
saved after every batch. Every step is idempotent (a batch done again changes nothing;
marketing emails have per-job ids), so a job taken over or resumed after a lost connection
just goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters import wakeups
from adapters.job_store import Job, JobStore
from adapters.settings import Database
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
Progress = Callable[[int, int | None], None]  # done, expected (None: not known yet)
Handler = Callable[[Job, Meta, Callable[[], bool], Progress | None], None]  # "stop now?"


class JobRefusedError(Exception):
    """Raised by a job that finds, before it changed anything, that it cannot run."""


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

    def stopping(self) -> None:
        """Ask the thread to stop, without waiting for it (`stop` waits)."""
        self._stop.set()

    def stop(self) -> None:
        self.stopping()
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
