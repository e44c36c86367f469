"""Participant registrations per second, each figure beside a raw INSERT baseline.

Every registration creates a contact or links an existing one: half of the people
measured registered for an earlier event first, so the "link + propagate" path runs as
often as the "create" path. Each measurement runs on a fresh, empty database (a SQLite
file or a PostgreSQL schema) and its raw baseline is measured on that same database in
the same run. Figures are medians of --repeat runs. See bench/README.md.

Run from the repository root:  .venv/bin/python -m bench.registrations --backend both
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import psycopg

from adapters.ledger import SealedContactLedger, build_ledger
from adapters.settings import Settings
from app import build_system
from domain.commands import ChangeSettings, ChangeSync, CreateOrganiserEvent, RegisterParticipant
from domain.meta import Meta

PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-of-at-least-32-characters"
META = Meta("bench", "admin", "cli", "bench")
ROOT = Path(__file__).resolve().parent.parent
BATCH = 250  # registrations per register_participants call
RAW_PER_TX = 1_000  # rows per transaction in the batched raw baseline
RAW_BATCHED_ROWS = 50_000
PAYLOAD = os.urandom(300)
WARM_UP = 20

T = TypeVar("T")
Sample = dict[str, float]

# --- databases -----------------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    """One fresh, empty database: a SQLite file or a PostgreSQL schema."""

    kind: str
    url: str
    data_dir: Path

    def env(self) -> dict[str, str]:
        """What the HTTP server reads (and, via Settings.from_env, the benchmark too)."""
        return {
            "DATABASE_URL": self.url,
            "LEDGER_DATA_DIR": str(self.data_dir),
            "LEDGER_SECRET": SECRET,
        }

    def settings(self) -> Settings:
        return Settings.from_env(self.env())


@contextmanager
def fresh_store(kind: str, workdir: Path) -> Iterator[Store]:
    name = f"bench_{uuid.uuid4().hex[:12]}"
    data_dir = workdir / name
    data_dir.mkdir(parents=True)
    try:
        if kind == "sqlite":
            yield Store(kind, f"sqlite:///{data_dir / 'ledger.sqlite'}", data_dir)
        else:
            with _pg_schema(name):
                yield Store(kind, f"{PG_URL}?schema={name}", data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def _pg_schema(name: str) -> Iterator[None]:
    with psycopg.connect(PG_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {name}")
    try:
        yield
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {name} CASCADE")


# --- raw baseline: a small row per INSERT, written directly -------------------------

RAW_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS bench_raw (id TEXT PRIMARY KEY, payload BLOB NOT NULL)",
    "postgres": (
        "CREATE TABLE IF NOT EXISTS bench_raw (id uuid PRIMARY KEY, payload bytea NOT NULL)"
    ),
}
RAW_INSERT = {
    "sqlite": "INSERT INTO bench_raw VALUES (?, ?)",
    "postgres": "INSERT INTO bench_raw VALUES (%s, %s)",
}


def raw_connect(store: Store) -> Any:
    """`connect`, with the baseline's table made."""
    connection = connect(store)
    connection.execute(RAW_TABLE[store.kind])
    return connection


def connect(store: Store) -> Any:
    """An autocommit connection to the ledger's own database, as the ledger opens it."""
    database = store.settings().database
    if store.kind == "sqlite":
        connection = sqlite3.connect(
            database.path, isolation_level=None, timeout=30, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode=WAL")
    else:
        connection = psycopg.connect(
            PG_URL, autocommit=True, options=f"-csearch_path={database.schema}"
        )
    return connection


def raw_rows(count: int) -> list[tuple[str, bytes]]:
    return [(uuid.uuid4().hex, PAYLOAD) for _ in range(count)]


def write_rows(connection: Any, kind: str, rows: list[tuple[str, bytes]], per_tx: int) -> None:
    for chunk in chunks(rows, per_tx):
        if per_tx == 1:
            connection.execute(RAW_INSERT[kind], chunk[0])  # autocommit: its own transaction
        else:
            with transaction(connection, kind) as cursor:
                cursor.executemany(RAW_INSERT[kind], chunk)


@contextmanager
def transaction(connection: Any, kind: str) -> Iterator[Any]:
    """A cursor of `connect`'s autocommit connection, inside one transaction: committed at
    the end, rolled back on an error."""
    if kind == "sqlite":
        connection.execute("BEGIN")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    else:
        with connection.transaction(), connection.cursor() as cursor:
            yield cursor


def write_single_rows(kind: str, connection: Any, rows: list[tuple[str, bytes]]) -> None:
    write_rows(connection, kind, rows, per_tx=1)


def raw_rate(store: Store, count: int, per_tx: int) -> float:
    """Rows per second, `per_tx` rows per committed transaction, one connection."""
    rows = raw_rows(count)
    with closing(raw_connect(store)) as connection:
        return count / timed(lambda: write_rows(connection, store.kind, rows, per_tx))


def raw_concurrent_rate(store: Store, count: int, threads: int) -> float:
    """Rows per second, one row per transaction, from `threads` connections at once."""
    per_thread = [raw_rows(count // threads) for _ in range(threads)]
    connections = [raw_connect(store) for _ in range(threads)]
    try:
        with ThreadPoolExecutor(threads) as pool:
            write = partial(write_single_rows, store.kind)
            elapsed = timed(lambda: list(pool.map(write, connections, per_thread)))
    finally:
        for connection in connections:
            connection.close()
    return threads * (count // threads) / elapsed


# --- the scenario: earlier event, later event, half the people known ----------------


def person(i: int) -> dict[str, str]:
    """Someone who registered for the earlier event (and so has a contact)."""
    return {"email": f"known{i}@bench.org", "company": f"Acme {i}"}


def registration_fields(i: int, tag: str) -> dict[str, str]:
    """Even i: a known person, with a new company (link + propagate); odd i: a new person."""
    if i % 2 == 0:
        return {"email": f"known{i // 2}@bench.org", "company": f"Globex {i}"}
    return {"email": f"{tag}{i}@bench.org", "company": f"Initech {i}"}


@dataclass(frozen=True)
class Scenario:
    account_id: uuid.UUID
    earlier: uuid.UUID
    later: uuid.UUID

    def registrations(self, n: int, tag: str = "new") -> list[RegisterParticipant]:
        return [self.register(self.later, registration_fields(i, tag)) for i in range(n)]

    def register(self, event_id: uuid.UUID, fields: dict[str, str]) -> RegisterParticipant:
        return RegisterParticipant(self.account_id, event_id, fields, "registered", "api")


def open_scenario(ledger: SealedContactLedger, known: int) -> Scenario:
    """An account with two synced events; `known` people registered for the earlier one."""
    now = datetime.now(UTC)
    account_id = ledger.open_account("Bench", now, META).id
    settings = ChangeSettings(account_id, ("email",), {"company": "up_and_propagate"}, 2)
    ledger.change_settings(settings, now, META)
    earlier, later = (synced_event(ledger, account_id, name) for name in ("2024", "2025"))
    scenario = Scenario(account_id, earlier, later)
    people = [scenario.register(earlier, person(i)) for i in range(known)]
    for batch in chunks(people, BATCH):
        ledger.register_participants(batch, now, META)
    return scenario


def synced_event(ledger: SealedContactLedger, account_id: uuid.UUID, name: str) -> uuid.UUID:
    now = datetime.now(UTC)
    cmd = CreateOrganiserEvent(account_id, f"Salon {name}", "event")
    event_id = ledger.create_organiser_event(cmd, now, META).id
    ledger.change_sync(ChangeSync(account_id, event_id, True), now, META)
    return event_id


def warm_up(ledger: SealedContactLedger, scenario: Scenario) -> None:
    for i in range(WARM_UP):
        cmd = scenario.register(scenario.later, {"email": f"warm{i}@bench.org"})
        ledger.register_participant(cmd, datetime.now(UTC), META)


def position(ledger: SealedContactLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


# --- in process ---------------------------------------------------------------------


def bench_single(store: Store, n: int) -> Sample:
    """register_participant: one command, one transaction per registration."""
    ledger = build_ledger(store.settings())
    try:
        scenario = open_scenario(ledger, known=(n + 1) // 2)
        warm_up(ledger, scenario)
        raw = raw_rate(store, n, per_tx=1)
        cmds = scenario.registrations(n)
        first = position(ledger)
        took = [timed(partial(register_one, ledger, cmd)) for cmd in cmds]
        events = position(ledger) - first
    finally:
        ledger.close()
    return {
        "rate": n / sum(took),
        "link": len(took[0::2]) / sum(took[0::2]),
        "create": len(took[1::2]) / sum(took[1::2]),
        "events": events / n,
        "raw": raw,
    }


def register_one(ledger: SealedContactLedger, cmd: RegisterParticipant) -> None:
    ledger.register_participant(cmd, datetime.now(UTC), META)


def bench_batched(store: Store, n: int) -> Sample:
    """register_participants: BATCH commands per call, one transaction per call."""
    ledger = build_ledger(store.settings())
    try:
        scenario = open_scenario(ledger, known=(n + 1) // 2)
        warm_up(ledger, scenario)
        raw = raw_rate(store, RAW_BATCHED_ROWS, per_tx=RAW_PER_TX)
        batches = chunks(scenario.registrations(n), BATCH)
        first = position(ledger)
        elapsed = timed(lambda: [register_many(ledger, batch) for batch in batches])
        events = position(ledger) - first
    finally:
        ledger.close()
    return {"rate": n / elapsed, "events": events / n, "raw": raw}


def register_many(ledger: SealedContactLedger, batch: list[RegisterParticipant]) -> None:
    ledger.register_participants(batch, datetime.now(UTC), META)


# --- over HTTP ----------------------------------------------------------------------


def bench_http(store: Store, n: int, workers: int, clients: int) -> Sample:
    """POST /v1/events/{id}/participants from `clients` concurrent connections."""
    system = build_system(store.settings())
    try:
        scenario = open_scenario(system.ledger, known=(n + 1) // 2)
        token = system.tokens.create(scenario.account_id, "admin", "bench", datetime.now(UTC))
    finally:
        system.close()
    raw = raw_concurrent_rate(store, n, clients)
    with serving(store, workers) as base_url:
        elapsed, latencies, failures = asyncio.run(
            post_all(base_url, token, scenario.later, n, clients)
        )
    ordered = sorted(latencies)
    return {
        "rate": n / elapsed,
        "p50": 1000 * ordered[len(ordered) // 2],
        "p99": 1000 * ordered[int(len(ordered) * 0.99)],
        "errors": failures,
        "raw": raw,
    }


@contextmanager
def serving(store: Store, workers: int) -> Iterator[str]:
    """uvicorn serving app:create_app on a free port, until the block ends."""
    port = free_port()
    command = [
        *(str(Path(sys.executable).parent / "uvicorn"), "app:create_app", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        *("--log-level", "warning"),
    ]
    log_path = store.data_dir / "uvicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **store.env()}, stdout=log, stderr=log
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_for_health(base_url, server, log_path)
            yield base_url
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_health(base_url: str, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited early:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx2.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not answer /health within 60 s:\n{log_path.read_text()}")


async def post_all(
    base_url: str, token: str, event_id: uuid.UUID, n: int, clients: int
) -> tuple[float, list[float], int]:
    """POST n registrations from `clients` workers; (seconds, latencies, non-201 count)."""
    path = f"/v1/events/{event_id}/participants"
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=120
    ) as client:
        warm = iter(body({"email": f"warm{i}@bench.org"}) for i in range(2 * clients))
        await asyncio.gather(*(post_each(client, path, warm) for _ in range(clients)))
        bodies = iter(body(registration_fields(i, "http")) for i in range(n))
        start = time.perf_counter()
        results = await asyncio.gather(*(post_each(client, path, bodies) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    latencies = [seconds for result in results for seconds, _ in result]
    failures = sum(status != 201 for result in results for _, status in result)
    return elapsed, latencies, failures


def body(fields: dict[str, str]) -> dict[str, Any]:
    return {"fields": fields, "status": "registered", "source": "api"}


async def post_each(
    client: httpx2.AsyncClient, path: str, bodies: Iterator[dict[str, Any]]
) -> list[tuple[float, int]]:
    """Take bodies from the shared iterator until it is empty; (latency, status) each."""
    results = []
    for payload in bodies:
        start = time.perf_counter()
        response = await client.post(path, json=payload)
        results.append((time.perf_counter() - start, response.status_code))
    return results


# --- running and reporting ------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    backends: tuple[str, ...]
    n: int
    http_n: int
    repeat: int
    clients: int
    workers: tuple[int, ...]
    workdir: Path

    def measurements(self) -> dict[str, Callable[[Store], Sample]]:
        found: dict[str, Callable[[Store], Sample]] = {
            "single": partial(bench_single, n=self.n),
            "batched": partial(bench_batched, n=5 * self.n),
        }
        for workers in self.workers:
            found[f"http{workers}"] = partial(
                bench_http, n=self.http_n, workers=workers, clients=self.clients
            )
        return found


def run_backend(plan: Plan, backend: str) -> dict[str, Sample]:
    """Every measurement `repeat` times, interleaved, each on a fresh store; medians."""
    samples: dict[str, list[Sample]] = {}
    for attempt in range(1, plan.repeat + 1):
        for name, measure in plan.measurements().items():
            with fresh_store(backend, plan.workdir) as store:
                sample = measure(store)
            samples.setdefault(name, []).append(sample)
            shown = ", ".join(f"{key} {value:,.1f}" for key, value in sample.items())
            print(f"  {backend} {name} run {attempt}: {shown}", file=sys.stderr, flush=True)
    return {name: medians(runs) for name, runs in samples.items()}


def medians(runs: list[Sample]) -> Sample:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def rows_for(backend: str, name: str, m: Sample, clients: int) -> list[tuple[str, ...]]:
    if name == "single":
        return [
            (backend, "in-process single (50/50 mix)", f"{m['rate']:,.0f} reg/s",
             f"{m['raw']:,.0f} rows/s single-row INSERT"),
            (backend, "  create | link+propagate", f"{m['create']:,.0f} | {m['link']:,.0f} reg/s",
             f"{m['events']:.1f} events/reg"),
        ]  # fmt: skip
    if name == "batched":
        return [
            (backend, f"in-process batched ({BATCH})", f"{m['rate']:,.0f} reg/s",
             f"{m['raw']:,.0f} rows/s ({RAW_PER_TX:,}/tx); {m['events']:.1f} events/reg"),
        ]  # fmt: skip
    workers = int(name.removeprefix("http"))
    errors = f", {m['errors']:.0f} errors" if m["errors"] else ""
    return [
        (backend, f"HTTP {workers} worker{'s' * (workers > 1)}, {clients} clients",
         f"{m['rate']:,.0f} req/s p50 {m['p50']:.0f} ms p99 {m['p99']:.0f} ms{errors}",
         f"{m['raw']:,.0f} rows/s single-row INSERT, {clients} threads"),
    ]  # fmt: skip


def print_table(rows: Sequence[tuple[str, ...]], what: str = "path") -> None:
    """A plain-text table: each figure beside its baseline from the same run."""
    header = ("backend", what, "figure (median)", "baseline (same run, same database)")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def describe(plan: Plan) -> str:
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; registrations per run: {plan.n:,} single, "
        f"{5 * plan.n:,} batched, {plan.http_n:,} HTTP; {plan.repeat} runs each, medians; "
        "registrations are half new people (create), half known (link+propagate)"
    )


def chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def parse_args(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench.registrations", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--n", type=int, default=2_000, help="registrations per single-path run; batched: 5×N"
    )
    parser.add_argument("--http-n", type=int, help="requests per HTTP run (default N/2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument(
        "--workers", default="1,2", help="uvicorn worker counts, comma-separated; '' skips HTTP"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    workers = tuple(int(w) for w in args.workers.split(",") if w.strip())
    http_n = args.http_n or max(args.n // 2, 2 * args.clients)
    return Plan(backends, args.n, http_n, args.repeat, args.clients, workers, args.workdir)


def check_postgres(plan: Plan) -> None:
    if "postgres" not in plan.backends:
        return
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        sys.exit(f"PostgreSQL is unreachable at {PG_URL} (set BENCH_POSTGRES_URL): {error}")


def main(argv: Sequence[str] | None = None) -> None:
    plan = parse_args(argv)
    check_postgres(plan)
    plan.workdir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, ...]] = []
    for backend in plan.backends:
        started = time.perf_counter()
        for name, sample in run_backend(plan, backend).items():
            rows += rows_for(backend, name, sample, plan.clients)
        print(f"  {backend}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(describe(plan))
    print_table(rows)


if __name__ == "__main__":
    main()
