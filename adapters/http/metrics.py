"""`GET /metrics` in Prometheus' text format (prometheus-client), for one scrape token.

Two kinds of figures (decision 0045):
- what this server answered: requests by method, route template and status, and their
  durations. Counted in each process; under `serve --workers N` every worker writes them
  to files in `PROMETHEUS_MULTIPROC_DIR` (set by `serve`) and whichever worker is scraped
  adds them all up.
- what the database says when scraped: the log's head, each read model's position and
  lag, jobs by action and state, imported rows by outcome. The same from any process or
  host, whoever did the work (the server, `contact-ledger import`, a projector elsewhere).
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from adapters.http.aside import run_aside
from adapters.http.errors import problem
from adapters.job_store import jobs
from adapters.threads import described

log = logging.getLogger("contact_ledger.metrics")
DATABASE_SECONDS = 2.0  # the longest a scrape waits for the database's figures
# A change-feed long-poll lasts up to 30 s: the last buckets tell it from a stuck request.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
OFF = "metrics are off: set LEDGER_METRICS_TOKEN and scrape with it as a bearer token"
UNAUTHORISED = "GET /metrics needs the scrape token (LEDGER_METRICS_TOKEN) as a bearer token"


@contextmanager
def shared_by_workers(workers: int) -> Iterator[None]:
    """For `serve --workers N` (N > 1): a folder where each worker writes its request
    figures, for whichever is scraped to add up. The workers are new interpreters, so the
    variable set here reaches them before they import prometheus-client, which reads it
    then. One the operator set (e.g. to keep the figures across restarts) is kept as is."""
    if workers <= 1 or os.environ.get(MULTIPROCESS_DIR):
        yield
        return
    folder = tempfile.mkdtemp(prefix="contact-ledger-metrics-")
    os.environ[MULTIPROCESS_DIR] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR]
        shutil.rmtree(folder, ignore_errors=True)


class HttpMetrics:
    """This process's request counts and durations."""

    def __init__(self) -> None:
        # In no registry: each scrape gathers them into a registry of its own.
        self.requests = Counter(
            "ledger_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=None,
        )
        self.duration = Histogram(
            "ledger_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            ("method", "route"),
            buckets=BUCKETS,
            registry=None,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)

    def exposition(self, state: DatabaseState | None) -> bytes:
        registry = CollectorRegistry()
        if os.environ.get(MULTIPROCESS_DIR):
            # every worker's files, this one's included (prometheus_client leaves it untyped)
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry.register(self.requests)
            registry.register(self.duration)
        registry.register(_StateCollector(state))
        return generate_latest(registry)


@dataclass(frozen=True)
class DatabaseState:
    head: int
    positions: dict[str, int]  # read model → its position
    jobs: dict[tuple[str, str], int] = field(default_factory=dict)  # (action, state) → count
    import_rows: dict[str, int] = field(default_factory=dict)  # outcome → rows


def read_state(runtime: Any) -> DatabaseState:
    """The database's figures: a few short queries (the jobs table holds one row a job)."""
    head = runtime.ledger.recorder.max_notification_id() or 0
    positions = {name: p.store.position() for name, p in runtime.projectors.items()}
    with runtime.jobs.engine.connect() as connection:
        counts = connection.execute(
            select(jobs.c.action, jobs.c.status, func.count()).group_by(
                jobs.c.action, jobs.c.status
            )
        ).all()
        rows = connection.execute(
            select(
                func.coalesce(func.sum(jobs.c.changed), 0),
                func.coalesce(func.sum(jobs.c.unchanged), 0),
                func.coalesce(func.sum(jobs.c.skipped), 0),
            ).where(jobs.c.action == "import")
        ).one()
    return DatabaseState(
        head,
        positions,
        {(action, status): count for action, status, count in counts},
        dict(zip(("changed", "unchanged", "skipped"), map(int, rows), strict=True)),
    )


class _StateCollector(Collector):
    def __init__(self, state: DatabaseState | None) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ledger_database_up", "1 if the database answered this scrape in time, else 0."
        )
        up.add_metric([], 0 if self.state is None else 1)
        yield up
        if self.state is not None:
            yield from _families(self.state)


def _families(state: DatabaseState) -> Iterator[Metric]:
    head = GaugeMetricFamily("ledger_log_head", "The event log's last position.")
    head.add_metric([], state.head)
    yield head
    by_model = ["projection"]
    position = GaugeMetricFamily(
        "ledger_projection_position", "The last log position a read model applied.", labels=by_model
    )
    lag = GaugeMetricFamily(
        "ledger_projection_lag", "Log entries a read model has not applied yet.", labels=by_model
    )
    for name, at in sorted(state.positions.items()):
        position.add_metric([name], at)
        lag.add_metric([name], max(0, state.head - at))
    yield position
    yield lag
    counts = GaugeMetricFamily(
        "ledger_jobs", "Jobs by action and state.", labels=["action", "state"]
    )
    for (action, status), count in sorted(state.jobs.items()):
        counts.add_metric([action, status], count)
    yield counts
    rows = CounterMetricFamily(
        "ledger_import_rows",
        "Rows imported by outcome (changed: created or updated).",
        labels=["outcome"],
    )
    for outcome, count in state.import_rows.items():
        rows.add_metric([outcome], count)
    yield rows


async def metrics_answer(
    request: Request, runtime: Any, metrics: HttpMetrics, token: str
) -> Response:
    """The scrape: 401 without the scrape token (saying that metrics are off while none
    is set), else every figure (the database's left out, `ledger_database_up 0`, if it
    does not answer in time)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    matches = bool(token) and hmac.compare_digest(given.strip().encode(), token.encode())
    if scheme.lower() != "bearer" or not matches:
        detail = UNAUTHORISED if token else OFF
        return problem(401, detail, headers={"WWW-Authenticate": "Bearer"})
    state = None
    try:
        state = await run_aside(lambda: read_state(runtime), DATABASE_SECONDS)
    except Exception as error:  # the scrape still answers: the server's own figures and up=0
        log.warning("metrics without the database's figures: %s", described(error))
    return Response(metrics.exposition(state), media_type=CONTENT_TYPE_LATEST)
