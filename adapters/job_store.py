"""Long jobs (F18), their rows: what a job is, how a runner claims one, its progress.

A job is a row in `jobs`; the contacts it works on are resolved once, when it starts, into
`job_items` (the view as it was then). Progress is saved after every batch. A runner claims
a queued job with compare-and-set, so one job runs once even with several runners; a job
whose runner died (no heartbeat for `stale_seconds`) is taken over and resumes after its
last saved batch. Running them is `adapters/job_runner.py`.

Nothing personal is kept: the report holds contact ids and reasons, and a finished job's
arguments (field values, a filter that may name a person) are reduced to their names.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from adapters.sql.engine import create_tables
from domain.application import BulkStep
from domain.meta import Meta

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


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _redacted(value: Any) -> Any:
    """Names without values: what a finished job keeps of its arguments."""
    if isinstance(value, dict):
        return {k: _redacted(v) if isinstance(v, dict) else "…" for k, v in value.items()}
    return "…"
