"""An import (F19) as a job: the file is checked whole, then read in batches into the ledger.

`check_import` runs before the job is queued (HTTP and CLI alike): the file's structure
(`open_sheet`), the mapping against its columns and the fields, the mode, status and
group. Nothing is written unless all of it holds. The job then streams the rows and hands
them to the ledger `BATCH_ROWS` at a time, each batch a command (`ImportRows`) on the one
write path every command takes (group commit, decision 0051): one transaction a batch.
After each batch the rows' outcomes and the job's progress are saved together. A job taken
over after a crash starts again after its last saved batch; a batch whose events committed
but whose progress did not is read again and finds every row already there (unchanged), so
the end state is the same as one clean run. A large file is parsed by a helper process
(`read_ahead.py`), the one helper that measured paying for itself (decision 0051).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.importing.child import batches
from adapters.importing.read_ahead import open_sheet_for
from adapters.importing.sheets import FORMULA, CellError, Sheet, open_sheet
from adapters.importing.store import ImportStore
from adapters.job_runner import JobRefusedError, Progress
from adapters.job_store import Job, JobStore
from domain.application import ContactLedger
from domain.commands import ImportRows
from domain.fields import FieldCatalogue
from domain.import_rows import ImportedRow, check_options, skipped
from domain.imports import check_mapping, suggest_mapping
from domain.meta import Meta, Origin
from domain.unit_of_work import NotFoundError

# Rows a transaction: a batch is one command of the group commit, so the commands that
# arrive meanwhile wait for it (decision 0051).
BATCH_ROWS = 500


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
    ) -> None:
        self.ledger, self.store, self.jobs, self.clock = ledger, store, jobs, clock

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
        with open_sheet_for(path) as sheet:
            try:  # checked when it was asked for; the fields or the group may have changed
                columns = check_import(self.ledger, job.account_id, request, sheet)
            except (ValueError, NotFoundError) as error:
                raise JobRefusedError(str(error)) from error
            if job.total is None and sheet.estimated_rows is not None:
                self.jobs.set_total(job, sheet.estimated_rows)
            done = job.processed
            for batch in batches(sheet.rows(start=job.processed), BATCH_ROWS):
                outcomes = self._import(job, request, sheet, columns, batch, meta)
                self.store.record(job, len(batch), outcomes, self.clock())
                done += len(batch)
                if progress is not None:
                    progress(done, sheet.estimated_rows)
                if stopping():
                    raise InterruptedError("the runner was stopped; the import resumes")
        self.jobs.set_total(job, done)
        if progress is not None:
            progress(done, done)

    def _import(
        self,
        job: Job,
        request: ImportRequest,
        sheet: Sheet,
        columns: dict[int, str],
        batch: list[tuple[int, tuple[Any, ...]]],
        meta: Meta,
    ) -> list[ImportedRow]:
        """Each row's outcome, in line order: the unreadable ones skipped here, the others
        imported by one command."""
        outcomes: list[ImportedRow] = []
        readable: list[tuple[int, dict[str, Any]]] = []
        for line, cells in batch:
            reason = unreadable(cells, columns, sheet.headers)
            if reason:
                outcomes.append(skipped(line, reason))
            else:
                readable.append((line, {name: cells[i] for i, name in columns.items()}))
        if readable:
            cmd = request.batch(job.account_id, tuple(readable))
            seen = partial(self.store.first_lines, job.job_id)
            outcomes += self.ledger.import_rows(cmd, self.clock(), meta, seen).detail
        outcomes.sort(key=lambda row: row.line)
        return outcomes


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
