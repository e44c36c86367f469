"""Where an import keeps its file while it runs, and the outcome of each of its rows.

The file is stored in the database in chunks (any worker or runner that takes the job over
can read it) and deleted when the job ends. Row outcomes are written with the job's
progress, in one transaction per batch, so the counts and the per-row report never
disagree. They hold line numbers, outcomes, record ids and reasons: no cell values. While the job
runs they also hold each matched row's key digest (an HMAC, see domain/keys.py), so a later
batch can tell a person the file already named; the digests are cleared when it ends.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    String,
    Table,
    Text,
    Uuid,
    func,
    insert,
    select,
    text,
    update,
)

from adapters.job_store import Job, jobs
from adapters.sql.engine import SCHEMA_LOCK, create_tables, insert_tuples
from domain.import_rows import ImportedRow
from domain.imports import RowOutcome

CHUNK = 1 << 20
REPORT_PAGE = 5_000

metadata = MetaData()
files = Table(
    "import_files",
    metadata,
    Column("job_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)
rows = Table(
    "import_rows",
    metadata,
    Column("job_id", Uuid, primary_key=True),
    Column("line", Integer, primary_key=True, autoincrement=False),
    Column("outcome", String(16), nullable=False),
    Column("record_id", Uuid),
    Column("reason", Text, nullable=False),
    Column("key", String(64)),  # the row's key digest while the job runs, then NULL
)
# A batch asks which of its keys earlier rows of the same job carried: by job and key, so
# the answer costs a few index pages per key, not a scan of every row the job has
# recorded (each batch a little slower than the last: quadratic in the file's rows).
JOB_KEYS = Index(
    "import_rows_job_key",
    rows.c.job_id,
    rows.c.key,
    postgresql_where=rows.c.key.isnot(None),
    sqlite_where=rows.c.key.isnot(None),
)
OLD_INDEXES = ("ix_import_rows_key",)  # on the key alone, until 2026-11 (replaced by JOB_KEYS)

# One index look-up per key, whatever the table's statistics say (a fresh table has none:
# `job_id = %s AND key = ANY(...)` was planned as a scan of the job's rows, filtered).
FIRST_LINES = (
    "SELECT k.key, f.line FROM (SELECT %s::uuid AS id) AS j CROSS JOIN unnest(%b::text[]) AS"
    " k(key) CROSS JOIN LATERAL (SELECT min(line) AS line FROM import_rows AS r"
    " WHERE r.job_id = j.id AND r.key = k.key) AS f WHERE f.line IS NOT NULL"
)


class FileGoneError(Exception):
    """Raised when an import's file is no longer stored (the job ended or was never saved)."""

    def __init__(self, job_id: UUID) -> None:
        super().__init__(f"the file of import {job_id} is no longer stored; import it again")


class ImportStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)
        _upgrade_indexes(engine)

    def save_file(self, job_id: UUID, source: BinaryIO) -> int:
        """Store the file, chunk by chunk; returns its size in bytes."""
        size = 0
        with self.engine.begin() as connection:
            for seq, chunk in enumerate(iter(lambda: source.read(CHUNK), b"")):
                connection.execute(insert(files).values(job_id=job_id, seq=seq, data=chunk))
                size += len(chunk)
        return size

    def copy_file(self, job_id: UUID, target: Path) -> None:
        """Write the stored file to `target`, one chunk in memory at a time."""
        found = False
        with self.engine.connect() as connection, target.open("wb") as out:
            seqs = connection.execute(
                select(files.c.seq).where(files.c.job_id == job_id).order_by(files.c.seq)
            ).scalars()
            for seq in list(seqs):
                found = True
                out.write(
                    connection.execute(
                        select(files.c.data).where(files.c.job_id == job_id, files.c.seq == seq)
                    ).scalar_one()
                )
        if not found:
            raise FileGoneError(job_id)

    def forget(self, job_id: UUID) -> None:
        """What an ended import no longer needs: its file and its rows' key digests."""
        with self.engine.begin() as connection:
            connection.execute(files.delete().where(files.c.job_id == job_id))
            connection.execute(update(rows).where(rows.c.job_id == job_id).values(key=None))

    def first_lines(self, job_id: UUID, digests: set[str]) -> dict[str, int]:
        """The first line of this import that carried each of these keys, if any did.

        Asked once a batch with its keys (1,000): on PostgreSQL as one array, in binary (an
        IN list of 1,000 parameters costs more to build and convert than the query runs)."""
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                driver = connection.connection.driver_connection
                with driver.cursor() as cursor:  # type: ignore[union-attr]
                    cursor.execute(FIRST_LINES, (job_id, list(digests)), prepare=True)
                    found = cursor.fetchall()
            else:
                found = connection.execute(first_lines_query(job_id, digests)).all()
        return {key: line for key, line in found}

    def record(self, job: Job, done: int, outcomes: list[ImportedRow], at: datetime) -> None:
        """One batch: its rows' outcomes and the job's progress, in one transaction."""
        tally = Counter(row.outcome for row in outcomes)
        with self.engine.begin() as connection:
            job_id = job.job_id
            insert_tuples(  # in the table's column order
                connection,
                rows,
                [
                    (job_id, row.line, row.outcome.value, row.record_id, row.reason, row.key)
                    for row in outcomes
                ],
            )
            connection.execute(
                update(jobs)
                .where(jobs.c.job_id == job.job_id)
                .values(
                    processed=jobs.c.processed + done,
                    changed=jobs.c.changed + tally[RowOutcome.CREATED] + tally[RowOutcome.UPDATED],
                    unchanged=jobs.c.unchanged + tally[RowOutcome.UNCHANGED],
                    skipped=jobs.c.skipped + tally[RowOutcome.SKIPPED],
                    heartbeat_at=at,
                )
            )

    def counts(self, job_id: UUID) -> dict[str, int]:
        with self.engine.connect() as connection:
            found = connection.execute(
                select(rows.c.outcome, func.count())
                .where(rows.c.job_id == job_id)
                .group_by(rows.c.outcome)
            ).all()
        tally = {outcome.value: 0 for outcome in RowOutcome}
        tally.update({outcome: count for outcome, count in found})
        return tally

    def skipped(self, job_id: UUID, limit: int) -> list[tuple[int, str]]:
        with self.engine.connect() as connection:
            return [
                (line, reason)
                for line, reason in connection.execute(
                    select(rows.c.line, rows.c.reason)
                    .where(rows.c.job_id == job_id, rows.c.outcome == RowOutcome.SKIPPED.value)
                    .order_by(rows.c.line)
                    .limit(limit)
                )
            ]

    def report_csv(self, job_id: UUID) -> Iterator[str]:
        """The per-row report as CSV text, page by page (row, outcome, id, reason)."""
        yield _csv_line(("row", "outcome", "id", "reason"))
        after = 0
        while True:
            with self.engine.connect() as connection:
                page = connection.execute(
                    select(rows.c.line, rows.c.outcome, rows.c.record_id, rows.c.reason)
                    .where(rows.c.job_id == job_id, rows.c.line > after)
                    .order_by(rows.c.line)
                    .limit(REPORT_PAGE)
                ).all()
            if not page:
                return
            yield "".join(
                _csv_line((str(line), outcome, str(record_id or ""), reason))
                for line, outcome, record_id, reason in page
            )
            after = page[-1][0]


def first_lines_query(job_id: UUID, digests: set[str]) -> Select[tuple[str, int]]:
    """`first_lines` on SQLite (PostgreSQL is asked FIRST_LINES, the keys in one array)."""
    return (
        select(rows.c.key, func.min(rows.c.line))
        .where(rows.c.job_id == job_id, rows.c.key.in_(sorted(digests)))
        .group_by(rows.c.key)
    )


def _upgrade_indexes(engine: Engine) -> None:
    """A store made before JOB_KEYS existed gets it, and loses the index it replaces."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        JOB_KEYS.create(connection, checkfirst=True)
        for name in OLD_INDEXES:
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))


def _csv_line(cells: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()
