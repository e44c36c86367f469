"""Composition root: builds the whole application from settings. Nothing runs at import."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from starlette.applications import Starlette

from adapters import wakeups
from adapters.cli import main
from adapters.clock import utc_now
from adapters.http.asgi import create_http_app
from adapters.http.auth_throttle import AuthThrottle
from adapters.http.endpoint import Runtime
from adapters.http.idempotency import IdempotentWrites
from adapters.http.long_poll import FeedFollower
from adapters.idempotency import IdempotencyStore
from adapters.importing.job import Importer
from adapters.importing.store import ImportStore
from adapters.job_runner import JobRunner
from adapters.job_store import JobStore
from adapters.ledger import SealedContactLedger, build_ledger
from adapters.point_in_time import PointInTime
from adapters.projector import Projector
from adapters.propagation import PropagationFollower
from adapters.purge import Purger
from adapters.settings import Settings
from adapters.sql.audit_store import SqlAuditStore
from adapters.sql.change_feed import SqlFeedView
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid
from adapters.sql.grid_store import SqlGridStore
from adapters.sql.outbox_store import SqlOutboxStore
from adapters.sql.report_store import SqlReports, SqlReportStore
from adapters.tokens import TokenStore
from adapters.users import UserStore


class Worker(Protocol):
    """A background thread's owner (job runner, purger, projector): told, then stopped."""

    def stopping(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class ContactLedgerSystem:
    """Everything one process runs: ledger, read models and projector, tokens, HTTP app."""

    settings: Settings
    ledger: SealedContactLedger
    tokens: TokenStore
    projector: Projector  # the grid's
    audit_projector: Projector
    outbox_projector: Projector
    report_projector: Projector
    grid: SqlGrid
    purger: Purger
    jobs: JobRunner
    http: Starlette
    runtime: Runtime  # what the HTTP app was built from (tests build others from it)
    propagation_projector: Projector  # the propagation follow-up (decision 0049)

    @property
    def idempotency(self) -> IdempotencyStore:
        return self.runtime.idempotency.store

    @property
    def projectors(self) -> dict[str, Projector]:
        projectors = (
            self.projector,
            self.audit_projector,
            self.outbox_projector,
            self.report_projector,
            self.propagation_projector,
        )
        return {p.store.name: p for p in projectors}

    def close(self) -> None:
        workers: list[Worker] = [self.jobs, self.purger, *self.projectors.values()]
        for worker in workers:  # all told at once: a sleeping thread notices within 1 s
            worker.stopping()
        for worker in workers:
            worker.stop()
        self.ledger.close()
        self.tokens.engine.dispose()
        self.idempotency.engine.dispose()


def build_system(
    settings: Settings | None = None, clock: Callable[[], datetime] = utc_now
) -> ContactLedgerSystem:
    settings = settings or Settings.from_env()
    ledger = build_ledger(settings)
    engine = make_engine(settings.database)
    tokens = TokenStore(engine, settings.token_cache_seconds)
    store = SqlGridStore(engine)
    store.ensure_schema()
    projector = Projector(ledger, store, settings.database)
    audit = SqlAuditStore(engine)
    audit.ensure_schema()
    audit_projector = Projector(ledger, audit, settings.database)
    outbox = SqlOutboxStore(engine)
    outbox.ensure_schema()
    outbox_projector = Projector(ledger, outbox, settings.database)
    facts = SqlReportStore(engine)
    facts.ensure_schema()
    report_projector = Projector(ledger, facts, settings.database)
    projectors = (projector, audit_projector, outbox_projector, report_projector)
    propagation = PropagationFollower(engine, ledger, clock)
    propagation.ensure_schema()
    propagation_projector = Projector(ledger, propagation, settings.database)
    grid = SqlGrid(engine)
    jobs = JobStore(engine, wakeups.jobs_channel(settings.database))
    importer = Importer(ledger, ImportStore(engine), jobs, clock)
    # memory:// has one shared SQLite connection: the store's commits must not end the
    # projector's transactions, so it gets a connection (and database) of its own.
    own = make_engine(settings.database) if settings.database.kind == "memory" else engine
    idempotency = IdempotencyStore(own, settings.idempotency_hours)
    ledger.erasure_listeners.append(idempotency.forget)
    runtime = Runtime(
        ledger=ledger,
        tokens=tokens,
        clock=clock,
        max_body_bytes=settings.max_body_bytes,
        read_wait_seconds=settings.read_wait_seconds,
        projectors={p.store.name: p for p in (*projectors, propagation_projector)},
        grid=grid,
        audit=audit,
        jobs=jobs,
        outbox=outbox,
        reports=SqlReports(engine),
        past=PointInTime(ledger, audit),
        feed=FeedFollower(SqlFeedView(audit), max_wait=settings.feed_wait_seconds),
        idempotency=IdempotentWrites(idempotency),
        importer=importer,
        max_upload_bytes=settings.max_upload_bytes,
        throttle=AuthThrottle(settings.auth_failure_limit, settings.auth_failure_window_seconds),
        metrics_token=settings.metrics_token,
        users=UserStore(engine),
    )
    scrub_every = timedelta(hours=settings.scrub_every_hours)
    purger = Purger(ledger, grid, list(projectors), engine, clock, idempotency, scrub_every)
    return ContactLedgerSystem(
        settings,
        ledger,
        tokens,
        projector,
        audit_projector,
        outbox_projector,
        report_projector,
        grid,
        purger,
        JobRunner(
            jobs,
            ledger,
            grid,
            store.position,
            clock,
            handlers={"import": importer.run},
            database=settings.database,
        ),
        create_http_app(runtime),
        runtime,
        propagation_projector,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app (for `uvicorn app:create_app --factory`)."""
    return build_system(settings).http


def run_cli() -> None:
    """The `contact-ledger` console script: the CLI, given this composition root."""
    main(obj=build_system)
