"""An import (F19) as a job: the file is checked whole, then read in batches into the ledger.

`check_import` runs before the job is queued (HTTP and CLI alike): the file's structure
(`open_sheet`), the mapping against its columns and the fields, the mode, status and
group. Nothing is written unless all of it holds. The job then streams the rows, 1,000 per
transaction; after each batch the rows' outcomes and the job's progress are saved
together. A job taken over after a crash starts again after its last saved batch; a
batch whose events committed but whose progress did not is read again and finds every
row already there (unchanged), so the end state is the same as one clean run.

Both cores (decisions 0027, 0029 and 0030): each batch is decided while a writer thread
saves the one before, in order; for a large file, one helper process parses it
(`read_ahead.py`) and another seals and inserts the decided batches (`write_behind.py`),
to which a sender thread sends the next batch while it saves one.
"""

from __future__ import annotations

import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager as ContextManager
from contextlib import ExitStack, nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.collector import collector_paused
from adapters.importing.child import batches, helped
from adapters.importing.read_ahead import open_sheet_for
from adapters.importing.sheets import FORMULA, CellError, Sheet, open_sheet
from adapters.importing.store import ImportStore
from adapters.importing.write_behind import WriteBehind, writing_behind
from adapters.job_runner import JobRefusedError, Progress
from adapters.job_store import Job, JobStore
from adapters.settings import Settings
from domain.application import ContactLedger, DecidedImport
from domain.commands import ImportRows
from domain.fields import FieldCatalogue
from domain.import_rows import ImportedRow, check_options, skipped
from domain.imports import check_mapping, suggest_mapping
from domain.meta import Meta, Origin
from domain.unit_of_work import NotFoundError, Save, UnitOfWork

# Rows a transaction. 1,000 rather than 500: a 100,000-row import ran 2-6 % faster
# (fewer transactions and hand-offs; decision 0031), a batch in flight holds a few MB more.
BATCH_ROWS = 1_000


@dataclass(frozen=True)
class ImportRequest:
    """What an import asks for: where to, which column is which field, and how."""

    event_id: UUID | None
    mapping: dict[str, str | None]
    mode: str = "create_and_update"
    group_id: UUID | None = None
    status: str = "registered"

    def params(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, UUID) else v for k, v in asdict(self).items()}

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ImportRequest:
        def uuid(name: str) -> UUID | None:
            return UUID(params[name]) if params.get(name) else None

        return cls(
            uuid("event_id"),
            dict(params["mapping"]),
            params["mode"],
            uuid("group_id"),
            params["status"],
        )

    def batch(self, account_id: UUID, rows: tuple[tuple[int, dict[str, Any]], ...]) -> ImportRows:
        return ImportRows(account_id, self.event_id, rows, self.mode, self.group_id, self.status)


def catalogue_for(ledger: ContactLedger, account_id: UUID, event_id: UUID | None) -> FieldCatalogue:
    account = ledger.account(account_id)
    if event_id is None:
        return account.catalogue
    return ledger.organiser_event(account_id, event_id).catalogue(account.catalogue)


def suggestion(
    ledger: ContactLedger, account_id: UUID, event_id: UUID | None, headers: tuple[str, ...]
) -> dict[str, str]:
    return suggest_mapping(headers, catalogue_for(ledger, account_id, event_id))


def check_import(
    ledger: ContactLedger, account_id: UUID, request: ImportRequest, sheet: Sheet
) -> dict[int, str]:
    """Column index -> field, once the request fits the file and the account (else raises)."""
    account = ledger.account(account_id)
    check_options(account, request.batch(account_id, ()))
    catalogue = catalogue_for(ledger, account_id, request.event_id)
    used = check_mapping(request.mapping, sheet.headers, catalogue, account.uniqueness_key)
    return {sheet.headers.index(column): name for column, name in used.items()}


class Importer:
    """Submits imports (file stored, job queued) and runs them (by the job runner or the CLI)."""

    def __init__(
        self,
        ledger: ContactLedger,
        store: ImportStore,
        jobs: JobStore,
        clock: Callable[[], datetime],
        settings: Settings | None = None,
    ) -> None:
        """`settings`: where the ledger is stored, for the helper that saves a large file's
        batches (without them, every batch is saved by the job's process)."""
        self.ledger, self.store, self.jobs, self.clock = ledger, store, jobs, clock
        self.settings = settings

    def submit(
        self, account_id: UUID, request: ImportRequest, path: Path, meta: Meta, at: datetime
    ) -> UUID:
        """Check the file and the request, store the file, queue the job; returns its id."""
        with open_sheet(path) as sheet:
            check_import(self.ledger, account_id, request, sheet)
        job_id = self.jobs.new_id()
        with path.open("rb") as source:
            self.store.save_file(job_id, source)  # before the job exists: no runner misses it
        head = self.ledger.recorder.max_notification_id() or 0
        self.jobs.create(account_id, "import", request.params(), None, meta, at, head, job_id)
        return job_id

    def run(
        self,
        job: Job,
        meta: Meta,
        stopping: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
    ) -> None:
        """Run (or resume) an import job; the file is forgotten once it ends either way."""
        meta = replace(meta, origin=Origin.IMPORT.value)  # its events say they came from it
        try:
            with tempfile.TemporaryDirectory(prefix="ledger-import-") as folder:
                path = Path(folder) / "file"
                self.store.copy_file(job.job_id, path)
                self._run(job, meta, path, stopping, progress)
        except InterruptedError:
            raise  # stopped mid-way: the next runner resumes it, with the file
        except Exception:  # not on exit (SystemExit, KeyboardInterrupt): it resumes later
            self.store.forget(job.job_id)
            raise
        self.store.forget(job.job_id)

    def _run(
        self,
        job: Job,
        meta: Meta,
        path: Path,
        stopping: Callable[[], bool],
        progress: Progress | None,
    ) -> None:
        request = ImportRequest.from_params(job.params)
        with ExitStack() as open_file:
            try:  # checked when it was asked for; the fields or the group may have changed
                sheet = open_file.enter_context(open_sheet_for(path))
                columns = check_import(self.ledger, job.account_id, request, sheet)
            except (ValueError, NotFoundError) as error:
                raise JobRefusedError(str(error)) from error
            if job.total is None and sheet.estimated_rows is not None:
                self.jobs.set_total(job, sheet.estimated_rows)
            done = job.processed
            with self._saving(path) as behind, _Writer(1 if behind is None else 2) as writer:
                for batch in batches(sheet.rows(start=job.processed), BATCH_ROWS):
                    decided, outcomes = self._decide(job, request, sheet, columns, batch, meta,
                                                     writer)  # fmt: skip
                    if self._write(writer, behind, job, decided, outcomes, len(batch)):
                        writer.wait()  # what it changes, the next batch reads
                    if progress is not None:
                        progress(done, sheet.estimated_rows)  # the batches written so far
                    done += len(batch)
                    if stopping():
                        writer.wait()
                        raise InterruptedError("the runner was stopped; the import resumes")
        self.jobs.set_total(job, done)
        if progress is not None:
            progress(done, done)

    def _decide(
        self,
        job: Job,
        request: ImportRequest,
        sheet: Sheet,
        columns: dict[int, str],
        batch: list[tuple[int, tuple[Any, ...]]],
        meta: Meta,
        writer: _Writer,
    ) -> tuple[DecidedImport | None, list[ImportedRow]]:
        """The rest of the batch decided (not yet saved), and its unreadable rows skipped."""
        outcomes: list[ImportedRow] = []
        readable: list[tuple[int, dict[str, Any]]] = []
        for line, cells in batch:
            reason = unreadable(cells, columns, sheet.headers)
            if reason:
                outcomes.append(skipped(line, reason))
            else:
                readable.append((line, {name: cells[i] for i, name in columns.items()}))
        if not readable:
            return None, outcomes

        def seen(digests: set[str]) -> dict[str, int]:
            writer.wait_if_writing(digests)  # a batch being written may hold their first line
            return self.store.first_lines(job.job_id, digests)

        cmd = request.batch(job.account_id, tuple(readable))
        with collector_paused():
            decided = self.ledger.decide_import(cmd, self.clock(), meta, seen)
        return decided, outcomes

    def _saving(self, path: Path) -> ContextManager[WriteBehind | None]:
        """Where batches are saved: by a helper process if the file is large (and the
        ledger is not in this process's memory), else here (None)."""
        settings = self.settings
        if settings is None or settings.database.kind == "memory" or not helped(path):
            return nullcontext()
        return writing_behind(settings)

    def _write(
        self,
        writer: _Writer,
        behind: WriteBehind | None,
        job: Job,
        decided: DecidedImport | None,
        outcomes: list[ImportedRow],
        rows: int,
    ) -> bool:
        """The batch handed to the writer; whether it changes what every batch reads."""
        finish = partial(self._save, job, decided, outcomes, rows)
        if decided is None:  # no readable row: only outcomes to save
            writer.write(partial(finish, None), set())
            return False
        assert decided.work is not None, "decided, not saved"
        keys = {row.key for row in decided.rows if row.key}
        settles = decided.changes_settings()
        if behind is None or settles:  # saved, or sent and answered, in one go
            save = None if behind is None else behind.save
            writer.write(partial(finish, partial(decided.work.commit, save)), keys)
        else:  # sent after the batches before it, answered for in turn
            send = partial(self._send, decided.work, behind.send)
            writer.write(partial(finish, behind.answer), keys, send)
        return settles

    @staticmethod
    def _send(work: UnitOfWork, send: Save) -> None:
        """In the sender: the batch committed to a save that only sends it."""
        with collector_paused():
            work.commit(send)

    def _save(
        self,
        job: Job,
        decided: DecidedImport | None,
        outcomes: list[ImportedRow],
        rows: int,
        saved: Callable[[], int | None] | None,
    ) -> None:
        """In the writer: the batch's events saved (`saved`: saves them, or answers for
        them once sent), then its rows' outcomes and the job's progress."""
        if decided is not None and saved is not None:
            with collector_paused():
                outcomes = outcomes + self.ledger.settle_import(decided, saved).detail
        outcomes.sort(key=lambda row: row.line)
        self.store.record(job, rows, outcomes, self.clock())


class _Writer:
    """Saves batches in a thread of its own while the next batch is decided.

    PostgreSQL (or the helper that saves behind) writes a batch on the other core, so the
    batch after it is decided in the meantime. At most `depth` batches are being written.
    A batch saved elsewhere is first sent, in order, by a sender thread, so that the helper
    finds the next batch waiting when it has saved one (depth 2). The writer then finishes
    the batches in order, each as before (events saved, then outcomes with progress), so a
    crash leaves what a crash left without this: decision 0022 holds; once one batch has
    failed, no later one is finished. A batch that carries a key a batch being written
    carries waits for it (`wait_if_writing`), as it must see that batch's rows; any other
    overlap (records both touch) is caught by the optimistic concurrency of the commit,
    which then decides the later batch again.
    """

    def __init__(self, depth: int = 1) -> None:
        self.depth = depth
        self._sender = ThreadPoolExecutor(1, thread_name_prefix="import-sender")
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="import-writer")
        self._writing: deque[tuple[Future[None], frozenset[str]]] = deque()
        self._thread: int | None = None  # the writer's
        self._failed = False

    def write(
        self, save: Callable[[], None], keys: set[str], send: Callable[[], None] | None = None
    ) -> None:
        """`send` (if any) in the sender, then `save` in the writer, after the batches
        before it; first waits, if `depth` batches are being written, for the oldest."""
        while len(self._writing) >= self.depth:
            self._oldest()
        sent = None if send is None else self._sender.submit(send)
        self._writing.append((self._pool.submit(self._save, sent, save), frozenset(keys)))

    def _save(self, sent: Future[None] | None, save: Callable[[], None]) -> None:
        self._thread = threading.get_ident()
        if self._failed:
            raise RuntimeError("a batch before this one failed")
        try:
            if sent is not None:
                sent.result()
            save()
        except BaseException:
            self._failed = True
            raise

    def _oldest(self) -> None:
        writing, _ = self._writing.popleft()
        writing.result()

    def wait(self) -> None:
        """Until the batches being written are saved; the first error is raised here."""
        while self._writing:
            self._oldest()

    def wait_if_writing(self, keys: set[str]) -> None:
        if threading.get_ident() == self._thread:
            return  # a batch being written, decided again (its keys are no later batch's)
        carry = [i for i, (_, carried) in enumerate(self._writing) if not carried.isdisjoint(keys)]
        for _ in range(carry[-1] + 1 if carry else 0):
            self._oldest()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.wait()
            else:
                for writing, _ in self._writing:
                    writing.exception()  # finish writing them; the error in hand goes on
        finally:
            self._sender.shutdown(wait=True)
            self._pool.shutdown(wait=True)


def unreadable(cells: tuple[Any, ...], columns: dict[int, str], headers: tuple[str, ...]) -> str:
    """Why a row cannot be read at all ("" if it can): empty, or a mapped cell unusable."""
    if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
        return "empty row"
    for index in columns:
        cell = cells[index]
        if cell is FORMULA:
            return (
                f"column {headers[index]!r}: a formula, where the import takes values "
                "(copy the column and paste it back as values)"
            )
        if isinstance(cell, CellError):
            return f"column {headers[index]!r}: the cell holds the error {cell.code}"
    return ""
