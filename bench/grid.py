"""The grid read model: catch-up rate, query latency at scale, write-to-visibility lag.

(a) catch-up: a history written with the ledger is replayed into the grid tables with
    `projector.rebuild()`, beside the library's `ProjectionRunner` (one transaction per
    event), reading and decoding the log alone, and a raw bulk write of as many rows.
(b) grid latency: `rm_contacts` filled directly with M realistic rows (folded columns from
    `projections.folding.identity`, as the projector writes them), with the product's
    indexes, then p50/p95 of grid pages, counts and searches through `SqlGrid.page`, beside
    a primary-key lookup and the same first page in hand-written SQL.
(c) lag: the projector follows in a background thread (as in `serve`) while writer
    processes register people one by one, either each waiting for its write to show or
    at an offered rate; each write is timed, then the time until the grid covers it.

Each measurement runs on a fresh, empty database (a SQLite file or a PostgreSQL schema)
and its baseline is measured on that same database in the same run. See bench/README.md.

Run from the repository root:  .venv/bin/python -m bench.grid --backend both
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import random
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.sqlite import SQLiteTrackingRecorder
from eventsourcing.utils import Environment, get_topic
from psycopg.sql import SQL, Identifier
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from adapters.clock import utc_now
from adapters.keystore import KeyRing
from adapters.ledger import SealedContactLedger, build_ledger
from adapters.projector import PAGE as PAGE_SIZE
from adapters.projector import Projector, ReadModelStore
from adapters.sql import grid_tables as t
from adapters.sql import tracking as tracked
from adapters.sql.engine import make_engine
from adapters.sql.grid_queries import SqlGrid, count_statement, rows_statement
from adapters.sql.grid_store import GridBatches, SqlGridStore
from app import build_system
from bench.registrations import (
    BATCH,
    META,
    PG_URL,
    Scenario,
    Store,
    chunks,
    fresh_store,
    medians,
    open_scenario,
    person,
    print_table,
    registration_fields,
    timed,
)
from domain.commands import ChangeParticipantStatus, RegisterParticipant
from domain.keys import KeyHasher
from domain.segments import parse_segment
from projections import grid
from projections.folding import identity
from projections.grid import ContactRow, ParticipantRow
from projections.grid_query import GridQuery, make_cursor

Sample = dict[str, float]
TOPICS = frozenset(grid.TOPICS)
PAGE = 50
DEEP_PAGES = 1_000  # the deep keyset page starts after this many pages of PAGE rows


# --- (a) catch-up -------------------------------------------------------------------


@dataclass
class History:
    head: int = 0  # the log's max notification id: the events counted
    registrations: int = 0
    status_changes: int = 0
    seconds: float = 0.0


def write_history(store: Store, target: int) -> History:
    """Rounds of 250 people for an earlier event, then 500 for a later one, half of them
    the same people (link + propagate) and half new, until the log holds `target` events;
    then status changes for 1 in 100 of the later participants, one command each."""
    ledger = build_ledger(store.settings())
    history = History()
    started = time.perf_counter()
    try:
        scenario = open_scenario(ledger, known=0)
        later: list[uuid.UUID] = []
        round_ = 0
        while head(ledger) < target:
            earlier = [scenario.register(scenario.earlier, person(i)) for i in _round(round_, 1)]
            register_batches(ledger, earlier)
            mix = [
                scenario.register(scenario.later, registration_fields(i, "new"))
                for i in _round(round_, 2)
            ]
            later += [outcome.id for outcome in register_batches(ledger, mix)]
            history.registrations += len(earlier) + len(mix)
            round_ += 1
        for participant_id in later[::100]:
            cmd = ChangeParticipantStatus(
                scenario.account_id, scenario.later, participant_id, "attended"
            )
            ledger.change_participant_status(cmd, datetime.now(UTC), META)
            history.status_changes += 1
        history.head = head(ledger)
    finally:
        ledger.close()
    history.seconds = time.perf_counter() - started
    return history


def _round(round_: int, per_person: int) -> range:
    return range(round_ * BATCH * per_person, (round_ + 1) * BATCH * per_person)


def register_batches(ledger: SealedContactLedger, cmds: list[RegisterParticipant]) -> list[Any]:
    outcomes = []
    for batch in chunks(cmds, BATCH):
        outcomes += ledger.register_participants(batch, datetime.now(UTC), META)
    return outcomes


def head(ledger: SealedContactLedger) -> int:
    return ledger.recorder.max_notification_id() or 0


def bench_catch_up(store: Store, events: int, profile: bool, library: bool) -> Sample:
    history = write_history(store, events)
    n = history.head
    print(
        f"    history: {n:,} events ({history.registrations:,} registrations in batches of "
        f"{BATCH}, {history.status_changes:,} status changes) written in "
        f"{history.seconds:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    sample = {
        "events": n,
        "raw": raw_bulk_rate(store, n),
        "read": n / read_log_seconds(store),
        "rebuild": n / rebuild_seconds(store, n, timed),
    }
    seconds = library_seconds(store, n) if library else None
    sample["library"] = n / seconds if seconds else math.nan
    hand = library and store.kind == "sqlite"
    sample["hand"] = n / hand_loop_seconds(store, n) if hand else math.nan
    if profile:  # extra rebuilds, not in the table
        rebuild_seconds(store, n, partial(stage_split, n=n))
        rebuild_seconds(store, n, profiled)
    return sample


def rebuild_seconds(
    store: Store,
    n: int,
    run: Callable[..., float],
    read_model: Callable[[Engine], ReadModelStore] = SqlGridStore,
) -> float:
    """`projector.rebuild()` of a read model (the grid unless told) in a fresh
    process-like state: new ledger, engine, key cache."""
    settings = store.settings()
    ledger = build_ledger(settings)
    engine = make_engine(settings.database)
    try:
        model = read_model(engine)
        model.ensure_schema()
        projector = Projector(ledger, model, settings.database)
        elapsed = run(projector.rebuild)
        if model.position() != n:
            raise RuntimeError(f"rebuild stopped at {model.position()} of {n}")
    finally:
        ledger.close()
        engine.dispose()
    return elapsed


def stage_split(rebuild: Any, n: int) -> float:
    """Time each stage of a rebuild, by wrapping the projector's collaborators (in this
    process only), and print the split to stderr."""
    projector: Projector = rebuild.__self__
    ledger, grid_store = projector.ledger, projector.store
    spent: dict[str, float] = {}
    stages = [
        (ledger.recorder, "select_notifications", "read the log (select_notifications)"),
        (ledger.keyring, "prefetch", "prefetch subject keys"),
        (ledger.mapper, "to_domain_event", "decode + unseal events"),
        (GridBatches, "apply", "apply a batch, in all:"),
        (grid_store, "_load", "  load rows not kept from earlier batches"),
        (grid, "apply", "  fold events into rows"),
        (grid_store, "_write", "  write rows back (COPY / INSERT)"),
        (tracked, "move", "  move the tracking position"),
    ]
    originals = [(owner, name, vars(owner).get(name)) for owner, name, _ in stages]
    for owner, name, label in stages:
        setattr(owner, name, _stopwatch(getattr(owner, name), label, spent))
    try:
        elapsed = timed(rebuild)
    finally:
        for owner, name, original in originals:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
    print(f"    rebuild stages: {n:,} events in {elapsed:.2f} s = {n / elapsed:,.0f} events/s"
          " (the first three run in the reader thread, beside the rest; CPU is the"
          " thread's own)", file=sys.stderr)  # fmt: skip
    for _, _, label in stages:
        seconds, cpu = spent.get(label, 0.0), spent.get(f"{label} cpu", 0.0)
        print(f"      {label:42} {seconds:6.2f} s {1e6 * seconds / n:6.1f} µs/event "
              f"{100 * seconds / elapsed:4.0f}%  CPU {1e6 * cpu / n:5.1f} µs/event",
              file=sys.stderr)  # fmt: skip
    return elapsed


def _stopwatch(action: Callable[..., Any], label: str, spent: dict[str, float]) -> Any:
    def timed_call(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return action(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - started
            spent[f"{label} cpu"] = spent.get(f"{label} cpu", 0.0) + time.thread_time() - cpu

    return timed_call


def profiled(action: Callable[[], object]) -> float:
    from pyinstrument import Profiler  # noqa: PLC0415 (only with --profile)

    profiler = Profiler(interval=0.001)
    profiler.start()
    elapsed = timed(action)
    profiler.stop()
    print(profiler.output_text(show_all=False, color=False), file=sys.stderr)
    return elapsed


def read_log_seconds(store: Store) -> float:
    """Only what the projector does before folding: read pages of the projector's size,
    keep the grid's topics, prefetch the subjects' keys, decode (and unseal) each event."""
    ledger = build_ledger(store.settings())
    try:
        return timed(lambda: read_log(ledger))
    finally:
        ledger.close()


def read_log(ledger: SealedContactLedger) -> int:
    start, decoded = 0, 0
    while page := ledger.recorder.select_notifications(start=start + 1, limit=PAGE_SIZE):
        notifications = [n for n in page if n.topic in TOPICS]
        ledger.keyring.prefetch({n.originator_id for n in notifications})
        decoded += len([ledger.mapper.to_domain_event(n) for n in notifications])
        start = page[-1].id
    return decoded


# the library's projection: one row per event and its tracking, one transaction per event

ROWS_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_lib_rows (notification_id bigint PRIMARY KEY,"
    " originator_id {uuid} NOT NULL, originator_version bigint NOT NULL, topic text NOT NULL)"
)


class PostgresRowsView(PostgresTrackingRecorder):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements.append(
            SQL(ROWS_TABLE.replace("bench_lib_rows", "{schema}.bench_lib_rows")).format(
                schema=schema, uuid=SQL("uuid")
            )
        )
        self.insert_row_statement = SQL(
            "INSERT INTO {}.bench_lib_rows VALUES (%s, %s, %s, %s)"
        ).format(schema)

    def insert_row(self, row: tuple[Any, ...], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.insert_row_statement, row, prepare=True)
            self._insert_tracking(curs, tracking)

    def rows(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT count(*) FROM {}.bench_lib_rows").format(
                Identifier(self.datastore.schema)))  # fmt: skip
            return int(next(iter(curs.fetchone().values())))


class SqliteRowsView(SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), ROWS_TABLE.format(uuid="text")]

    def insert_row(self, row: tuple[Any, ...], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute("INSERT INTO bench_lib_rows VALUES (?, ?, ?, ?)", row)
            self._insert_tracking(c, tracking)


class RowPerEvent(Projection[Any]):
    name = "benchrows"
    topics = grid.TOPICS

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        row = (
            tracking.notification_id,
            str(domain_event.originator_id),
            domain_event.originator_version,
            get_topic(type(domain_event)),
        )
        self.view.insert_row(row, tracking)


class RunnerLedger(SealedContactLedger):
    """The ledger as `ProjectionRunner` constructs an application: from `env` alone."""

    name = "ContactLedger"

    def __init__(self, env: Any = None) -> None:
        super().__init__(KeyHasher(b"bench-only-read-side-secret-32-bytes"), KeyRing(), env or {})


def library_seconds(store: Store, n: int) -> float | None:
    """`ProjectionRunner` following the same log from the start until it reached `n`;
    None on SQLite, where the runner cannot subscribe (the recorder has no subscribe)."""
    env = store.settings().database.eventsourcing_env()
    if store.kind == "sqlite":
        try:
            ProjectionRunner(
                application_class=RunnerLedger,
                projection_class=RowPerEvent,
                view_class=SqliteRowsView,
                env=env,
            ).stop()
        except NotImplementedError:
            return None
        raise RuntimeError("ProjectionRunner subscribed to SQLite: measure it")
    started = time.perf_counter()
    with ProjectionRunner(
        application_class=RunnerLedger,
        projection_class=RowPerEvent,
        view_class=PostgresRowsView,
        env=env,
    ) as runner:
        last = last_topic_id(runner.app)
        runner.wait(last, timeout=3_600)
        elapsed = time.perf_counter() - started
        if runner.view.max_tracking_id(runner.app.name) != last:
            raise RuntimeError("ProjectionRunner did not reach the end of the log")
    return elapsed


def last_topic_id(ledger: SealedContactLedger) -> int:
    """The id of the last notification the grid's topics select (the runner's end)."""
    last = head(ledger)
    while last and ledger.recorder.select_notifications(last, 1)[0].topic not in TOPICS:
        last -= 1
    return last


def hand_loop_seconds(store: Store, n: int) -> float:
    """SQLite: the same projection and view, driven by a loop over the same notifications
    (pages of 500, the grid's topics), one transaction per event."""
    settings = store.settings()
    ledger = build_ledger(settings)
    env = Environment(RowPerEvent.name, settings.database.eventsourcing_env())
    view = InfrastructureFactory.construct(env=env).tracking_recorder(SqliteRowsView)
    projection = RowPerEvent(view)
    try:

        def run() -> None:
            start = 0
            while page := ledger.recorder.select_notifications(
                start, 500, topics=grid.TOPICS, inclusive_of_start=False
            ):
                for notification in page:
                    event = ledger.mapper.to_domain_event(notification)
                    projection.process_event(event, Tracking(ledger.name, notification.id))
                start = page[-1].id

        return timed(run)
    finally:
        ledger.close()


def raw_bulk_rate(store: Store, n: int) -> float:
    """n small rows in one go: PostgreSQL COPY, SQLite executemany in one transaction."""
    rows = [(i, uuid.uuid4(), 1, "bench:Raw") for i in range(1, n + 1)]
    if store.kind == "sqlite":
        with closing(sqlite3.connect(store.settings().database.path)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute(ROWS_TABLE.format(uuid="text").replace("lib", "raw"))
            sqlite_rows = [(i, u.hex, v, topic) for i, u, v, topic in rows]

            def write() -> None:
                with connection:
                    connection.executemany(
                        "INSERT INTO bench_raw_rows VALUES (?, ?, ?, ?)", sqlite_rows
                    )

            return n / timed(write)
    with pg_connect(store) as connection:
        connection.execute(ROWS_TABLE.format(uuid="uuid").replace("lib", "raw"))

        def copy() -> None:
            with connection.transaction(), connection.cursor() as cursor:
                statement = "COPY bench_raw_rows FROM STDIN"
                with cursor.copy(statement) as copying:
                    for row in rows:
                        copying.write_row(row)

        return n / timed(copy)


def pg_connect(store: Store) -> psycopg.Connection[Any]:
    schema = store.settings().database.schema
    return psycopg.connect(PG_URL, autocommit=True, options=f"-csearch_path={schema}")


# --- (b) grid latency at scale ------------------------------------------------------


def words(text: str) -> list[str]:
    return text.split()


FIRST = words(
    "Camille Léa Manon Chloé Inès Jade Louise Zoé Alice Lina Emma Rose Anna Élodie Sarah "
    "Julie Claire Hélène Marie Sophie Nathalie Isabelle Céline Aurélie Émilie Lucie Laura "
    "Lucas Hugo Louis Gabriel Arthur Jules Adam Raphaël Léo Noah Thomas Nicolas Julien "
    "Antoine Maxime Alexandre Pierre François Mathieu Olivier Stéphane Sébastien Jérôme"
)
LAST = words(
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André Lefèvre "
    "Mercier Dupont Lambert Bonnet François Martinez Legrand Garnier Faure Rousseau Blanc "
    "Guérin Muller Henry Roussel Nicolas Perrin Morin Mathieu Clément Gauthier Dumont Lopez "
    "Fontaine Chevalier Robin Masson Sanchez Gérard Nguyen Boyer Denis Lemaire Duval Joly "
    "Gautier Roger Roche Roy Noël Meyer Lucas Meunier Jean Pérez Marchand Dufour Blanchard "
    "Marie Barbier Brun Dumas Brunet Schmitt Leroux Colin Fernandez Pierre Renard Arnaud "
    "Rolland Caron Aubert Giraud Leclerc Vidal Bourgeois Renaud Lemoine Picard Gaillard "
    "Philippe Leclercq Lacroix Fabre Dupuis Olivier Rodriguez Da Silva Hubert Louis Charles "
    "Guillot Rivière Le Gall Guillaume Adam Rey Moulin Gonzalez Berger Lecomte Menard Fleury "
    "Deschamps Carpentier Julien Benoît Paris Maillard Marchal Aubry Vasseur Le Roux Renault "
    "Jacquet Collet Prévost Poirier Charpentier Royer Huet Baron Dupuy Pons Paul Laine Carré"
)
WORDS = words(
    "Nova Atlas Orion Vertex Lumen Quartz Sirius Helios Zenith Apex Cobalt Argon Vega Delta "
    "Kappa Sigma Astra Borea Cirrus Dune Echo Fjord Gaïa Halo Iris Jade Kéa Lys Mira Nexa"
)
SUFFIXES = ("Conseil", "Industries", "SAS", "Group", "Labs", "& Associés", "Technologies")
TITLES = (
    "Directrice marketing",
    "Chef de projet",
    "Ingénieur",
    "CEO",
    "Responsable achats",
    "Consultante",
    "Développeur",
    "Chargée de communication",
    "DRH",
    "Commercial",
)
CITIES = ("Paris", "Lyon", "Marseille", "Lille", "Nantes", "Bordeaux", "Toulouse", "Rennes")
COMPANIES = [f"{a} {b} {s}" for a in WORDS for b in WORDS[:10] if a != b for s in SUFFIXES[:3]][
    :800
]
N_EVENTS = 40  # organiser events in the account; every 8th is a community
CHUNK = 20_000  # rows per COPY / executemany transaction while filling


@dataclass
class Probes:
    """What the measured queries ask for, chosen while filling."""

    account_id: uuid.UUID
    company: str
    event_id: uuid.UUID  # the big event: about 1 in 10 contacts took part
    search: str = ""  # one person's e-mail address, before the @
    pk_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True)
class Chunk:
    """Contacts start..start+size of the fill, generated and encoded in a worker."""

    kind: str
    account_id: uuid.UUID
    events: tuple[tuple[uuid.UUID, str], ...]
    start: int
    size: int


@dataclass
class Encoded:
    contacts: Any  # COPY text (PostgreSQL) or parameter tuples (SQLite)
    participants: Any
    pk_ids: list[uuid.UUID]
    email: str


def fake_contacts(chunk: Chunk) -> Iterator[ContactRow]:
    """Realistic contact rows: French names, 800 companies, 1 to 6 events each, 1 in 10
    in the big event (the first one), 1 in 100 deleted. Seeded by the chunk's start."""
    rng = random.Random(chunk.start)
    epoch = datetime(2023, 1, 1, tzinfo=UTC)
    others = chunk.events[1:]
    for i in range(chunk.start, chunk.start + chunk.size):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        fields: dict[str, Any] = {
            "email": f"{_ascii(first)}.{_ascii(last)}{i}@{rng.choice(WORDS).lower()}.fr",
            "first_name": first,
            "last_name": last,
            "company": rng.choice(COMPANIES),
            "job_title": rng.choice(TITLES),
            "city": rng.choice(CITIES),
            "newsletter": rng.random() < 0.4,
        }
        if rng.random() < 0.3:
            fields["phone"] = f"+33 6 {rng.randrange(10**8):08d}"
        chosen = rng.choices(others, k=1 + min(5, int(rng.expovariate(0.9))))
        if rng.random() < 0.1:
            chosen[0] = chunk.events[0]
        memberships = {_uuid(rng).hex: [e.hex, kind] for e, kind in chosen}
        created = epoch + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        yield ContactRow(
            contact_id=_uuid(rng),
            account_id=chunk.account_id,
            created_at=created,
            updated_at=created + timedelta(days=rng.randrange(200)),
            fields=fields,
            memberships=memberships,
            processing_status=rng.choice(("new", "new", "processed", "to_check")),
            deleted=rng.random() < 0.01,
        )


def _ascii(name: str) -> str:
    return name.lower().translate(ASCII)


ASCII = str.maketrans("éèêëïîôç ", "eeeeiioc-")


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def participant_of(contact: ContactRow, event_id: uuid.UUID) -> ParticipantRow | None:
    """The contact's participant row in `event_id`, if it took part (status from its id)."""
    for participant, (event_hex, _) in contact.memberships.items():
        if event_hex == event_id.hex:
            status = ("registered", "attended", "waiting_list")[int(participant[-1], 16) % 3]
            return ParticipantRow(
                participant_id=uuid.UUID(participant),
                account_id=contact.account_id,
                event_id=event_id,
                status=status,
                source="form",
                fields=contact.fields,
                created_at=contact.created_at,
                updated_at=contact.updated_at,
                contact_id=contact.contact_id,
                deleted=contact.deleted,
            )
    return None


def row_values(row: ContactRow | ParticipantRow) -> dict[str, Any]:
    """Table values exactly as the projector writes them: fields, folded identity columns,
    sort name, search text, and the contact counts."""
    values = {column: getattr(row, column) for column in row.__dataclass_fields__}
    values.update(identity(row.fields))
    if isinstance(row, ContactRow):
        values.update(n_events=row.n_events, n_communities=row.n_communities)
    return values


def encode_chunk(chunk: Chunk) -> Encoded:
    """Generate and encode one chunk (runs in a worker process)."""
    contacts = list(fake_contacts(chunk))
    big_event = chunk.events[0][0]
    participants = [p for c in contacts if (p := participant_of(c, big_event)) is not None]
    encode = _copy_text if chunk.kind == "postgres" else _sqlite_params
    return Encoded(
        encode(t.contacts, [row_values(c) for c in contacts]),
        encode(t.participants, [row_values(p) for p in participants]),
        [c.contact_id for c in contacts[:: max(1, chunk.size // 50)]],
        contacts[len(contacts) // 2].fields["email"].split("@")[0],
    )


def _copy_text(table: Any, rows: list[dict[str, Any]]) -> str:
    """COPY ... FROM STDIN text format."""
    columns = list(table.c.keys())
    return "".join("\t".join(_copy_value(row[c]) for c in columns) + "\n" for row in rows)


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, datetime):
        value = value.isoformat()
    elif not isinstance(value, str):
        value = str(value)
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _sqlite_params(table: Any, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Parameters as SQLAlchemy binds them on SQLite (its own type processors)."""
    dialect = sqlite_dialect()
    processors = [(c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in table.c]
    return [
        tuple(row[name] if p is None else p(row[name]) for name, p in processors) for row in rows
    ]


def fill(store: Store, engine: Engine, m: int, account_id: uuid.UUID | None = None) -> Probes:
    """Tables created by the grid store, secondary indexes dropped, M contacts (and the
    big event's participants) bulk-loaded from two worker processes, the product's indexes
    created again (`grid_tables.create_indexes`), then VACUUM ANALYZE (PostgreSQL) or
    ANALYZE (SQLite)."""
    SqlGridStore(engine).ensure_schema()
    account_id = account_id or uuid.uuid4()
    events = tuple((uuid.uuid4(), "community" if k % 8 == 7 else "event") for k in range(N_EVENTS))
    with engine.begin() as connection:
        t.drop_indexes(connection)
        connection.execute(insert(t.events), [
            {"event_id": e, "account_id": account_id, "name": f"Salon {k}", "kind": kind,
             "starts_on": f"2025-{1 + k % 12:02d}-15"}
            for k, (e, kind) in enumerate(events)
        ])  # fmt: skip
    probes = Probes(account_id, COMPANIES[123], events[0][0])
    chunks_ = [
        Chunk(store.kind, account_id, events, start, min(CHUNK, m - start))
        for start in range(0, m, CHUNK)
    ]
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        for encoded in pool.map(encode_chunk, chunks_):
            probes.pk_ids += encoded.pk_ids
            probes.search = probes.search or encoded.email
            _load(store, engine, encoded)
    started = time.perf_counter()
    with engine.begin() as connection:
        t.create_indexes(connection)
    print(f"    indexes created in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if store.kind == "postgres":
        with pg_connect(store) as connection:
            connection.execute("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return probes


def _load(store: Store, engine: Engine, encoded: Encoded) -> None:
    if store.kind == "postgres":
        with pg_connect(store) as connection, connection.cursor() as cursor:
            for table, data in (
                (t.contacts, encoded.contacts),
                (t.participants, encoded.participants),
            ):
                columns = ", ".join(table.c.keys())
                with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copying:
                    copying.write(data)
        return
    with engine.begin() as connection:
        for table, data in ((t.contacts, encoded.contacts), (t.participants, encoded.participants)):
            marks = ", ".join("?" * len(table.c))
            if data:
                connection.exec_driver_sql(f"INSERT INTO {table.name} VALUES ({marks})", data)


# the measured queries


@dataclass
class Timing:
    """Latencies of one query, in ms, taken round-robin with the others."""

    action: Callable[[], object]
    latencies: list[float] = field(default_factory=list)

    def active(self, runs: int, budget: float) -> bool:
        spent = sum(self.latencies) / 1000
        return len(self.latencies) < runs and (len(self.latencies) < MIN_RUNS or spent < budget)

    def run(self) -> None:
        self.latencies.append(1000 * timed(self.action))

    def summary(self) -> Sample:
        return {
            "p50": percentile(self.latencies, 0.50),
            "p95": percentile(self.latencies, 0.95),
            "runs": len(self.latencies),
        }


MIN_RUNS = 10


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def grid_queries(probes: Probes, deep_cursor: str) -> dict[str, GridQuery]:
    account_id = probes.account_id
    segment = parse_segment({"all": [
        {"field": "company", "op": "eq", "value": probes.company},
        {"field": "n_events", "op": "range", "value": {"gte": 2}},
    ]})  # fmt: skip
    participated = parse_segment({"participated": {"event_id": str(probes.event_id)}})
    contains = parse_segment({"field": "company", "op": "contains", "value": CONTAINED})
    common = {"sort": "name", "limit": PAGE, "now": utc_now()}
    return {
        "filtered": GridQuery(account_id, filter=segment, **common),
        "deep": GridQuery(account_id, cursor=deep_cursor, **common),
        "search": GridQuery(account_id, q=probes.search, **common),
        "unaccented": GridQuery(account_id, q=UNACCENTED, **common),
        "event": GridQuery(account_id, event_id=probes.event_id, **common),
        "participated": GridQuery(account_id, filter=participated, **common),
        "contains": GridQuery(account_id, filter=contains, **common),
    }


UNACCENTED = "helene lefevre"  # typed without accents: finds Hélène Lefèvre (about 1 in 7,000)
CONTAINED = "orion sirius"  # `contains` on company: 3 of the 800 companies (about 0.4 %)


def deep_pages(m: int) -> int:
    """How many pages in the deep page is: DEEP_PAGES, or halfway for small fills."""
    return min(DEEP_PAGES, m // (2 * PAGE))


def deep_cursor(engine: Engine, account_id: uuid.UUID, pages: int) -> str:
    """The cursor a client holds after `pages` pages of PAGE rows sorted by name."""
    c = t.contacts.c
    statement = (
        select(c.sort_name, c.contact_id)
        .where(c.account_id == account_id, c.deleted.is_(False))
        .order_by(c.sort_name, c.contact_id)
        .offset(pages * PAGE - 1)
        .limit(1)
    )
    with engine.connect() as connection:
        sort_name, contact_id = connection.execute(statement).one()
    return make_cursor(GridQuery(account_id, now=utc_now()), sort_name, contact_id)


HAND_PAGE = (
    "SELECT * FROM rm_contacts WHERE account_id = {p} AND deleted = {false} AND company = {p}"
    " AND n_events >= {p} ORDER BY sort_name, contact_id LIMIT 51"
)
PK_LOOKUP = "SELECT * FROM rm_contacts WHERE contact_id = {p}"
CAPPED_COUNT = (
    "SELECT count(*) FROM (SELECT 1 FROM rm_contacts WHERE account_id = {p}"
    " AND deleted = {false} LIMIT 10001) AS capped"
)


@contextmanager
def raw_reader(store: Store) -> Iterator[Callable[[str, tuple[Any, ...]], list[Any]]]:
    """A plain driver connection: run a query (written with {p}, {false}), fetch all."""
    if store.kind == "postgres":
        with pg_connect(store) as connection:
            yield lambda sql, params: connection.execute(
                sql.format(p="%s", false="false"), params, prepare=True
            ).fetchall()
        return
    with closing(sqlite3.connect(store.settings().database.path)) as connection:

        def run(sql: str, params: tuple[Any, ...]) -> list[Any]:
            values = tuple(v.hex if isinstance(v, uuid.UUID) else v for v in params)
            return connection.execute(sql.format(p="?", false="0"), values).fetchall()

        yield run


def bench_grid(
    store: Store, m: int, runs: int, budget: float, explain: bool, without_trigram: bool
) -> dict[str, Any]:
    engine = make_engine(store.settings().database)
    try:
        started = time.perf_counter()
        probe = fill(store, engine, m)
        filled = time.perf_counter() - started
        print(f"    filled {m:,} contacts in {filled:.0f} s", file=sys.stderr, flush=True)
        pages = deep_pages(m)
        queries = grid_queries(probe, deep_cursor(engine, probe.account_id, pages))
        check_deep_page(engine, queries["deep"], probe, pages)
        sql_grid = SqlGrid(engine)
        with raw_reader(store) as raw:
            check_hand_page(sql_grid, queries["filtered"], raw, probe)
            timings = {
                **page_timings(engine, sql_grid, queries),
                "hand": Timing(
                    lambda: raw(HAND_PAGE, (probe.account_id, probe.company.casefold(), 2))
                ),
                "capped": Timing(lambda: raw(CAPPED_COUNT, (probe.account_id,))),
                "pk": Timing(pk_lookups(raw, probe.pk_ids)),
            }
            results: dict[str, Any] = measure_queries(timings, runs, budget)
        if explain:
            show_plans(engine, queries)
        results["sizes"] = table_sizes(engine, store)
        results["pages"] = pages
        if without_trigram and store.kind == "postgres":
            drop_trigram_indexes(store)
            again = page_timings(engine, sql_grid, queries)
            again = {k: again[k] for k in ("search", "search_count", "contains")}
            results |= {f"nogin_{k}": v for k, v in measure_queries(again, runs, budget).items()}
            if explain:
                show_plans(engine, {k: queries[k] for k in ("search", "contains")})
        return results
    finally:
        engine.dispose()


def page_timings(engine: Engine, sql_grid: SqlGrid, queries: dict[str, GridQuery]) -> Any:
    """page() for each query; rows alone and count alone for some."""
    timings = {name: Timing(partial(sql_grid.page, query)) for name, query in queries.items()}
    for name in ("filtered", "deep", "search", "event"):
        timings[f"{name}_rows"] = Timing(partial(fetch, engine, rows_statement(queries[name])))
        timings[f"{name}_count"] = Timing(partial(fetch, engine, count_statement(queries[name])))
    return timings


def measure_queries(timings: dict[str, Timing], runs: int, budget: float) -> dict[str, Sample]:
    """One warm-up each, then round-robin until `runs` each (or `budget` seconds spent)."""
    for timing in timings.values():
        timing.action()
    while active := [x for x in timings.values() if x.active(runs, budget)]:
        for timing in active:
            timing.run()
    return {name: x.summary() for name, x in timings.items()}


def drop_trigram_indexes(store: Store) -> None:
    """In this schema only: free text as on a database without pg_trgm."""
    with pg_connect(store) as connection:
        for name in t.SEARCHED:
            connection.execute(f"DROP INDEX {name}")
        connection.execute("ANALYZE rm_contacts")


def fetch(engine: Engine, statement: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(statement).all())


def pk_lookups(
    raw: Callable[[str, tuple[Any, ...]], list[Any]], ids: list[uuid.UUID]
) -> Callable[[], object]:
    cycle = itertools.cycle(ids)
    return lambda: raw(PK_LOOKUP, (next(cycle),))


def check_deep_page(engine: Engine, query: GridQuery, probe: Probes, pages: int) -> None:
    """The fabricated cursor resumes right after row `pages` × PAGE of the name order."""
    c = t.contacts.c
    expected = (
        select(c.contact_id)
        .where(c.account_id == probe.account_id, c.deleted.is_(False))
        .order_by(c.sort_name, c.contact_id)
        .offset(pages * PAGE)
        .limit(PAGE)
    )
    rows = SqlGrid(engine).page(query).rows
    if [r.contact_id for r in rows] != [r.contact_id for r in fetch(engine, expected)]:
        raise RuntimeError("the deep cursor does not resume where the offset says")


def check_hand_page(
    sql_grid: SqlGrid, query: GridQuery, raw: Callable[..., list[Any]], probe: Probes
) -> None:
    """The hand-written baseline answers the same rows as the grid's first page."""
    page = sql_grid.page(query)
    hand = raw(HAND_PAGE, (probe.account_id, probe.company.casefold(), 2))[:PAGE]
    if [str(r.contact_id).replace("-", "") for r in page.rows] != [
        str(r[0]).replace("-", "") for r in hand
    ]:
        raise RuntimeError("the hand-written page answers other rows than the grid")
    if not page.rows:
        raise RuntimeError("the filtered query finds nobody")


def show_plans(engine: Engine, queries: dict[str, GridQuery]) -> None:
    """EXPLAIN ANALYZE (PostgreSQL) or EXPLAIN QUERY PLAN (SQLite) of each measured query."""
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    statements = {f"{name} rows": rows_statement(q) for name, q in queries.items()}
    statements |= {f"{name} count": count_statement(q) for name, q in queries.items()}
    with engine.connect() as connection:
        for name, statement in statements.items():
            sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
            plan = connection.exec_driver_sql(prefix + sql).all()
            lines = "\n".join("  " + " ".join(str(v) for v in row) for row in plan)
            print(f"--- {name}\n{sql}\n{lines}", file=sys.stderr)


def table_sizes(engine: Engine, store: Store) -> str:
    if store.kind == "sqlite":
        return f"{Path(store.settings().database.path).stat().st_size / 2**20:,.0f} MB file"
    with engine.connect() as connection:
        heap, total = connection.execute(
            text("SELECT pg_table_size('rm_contacts'), pg_total_relation_size('rm_contacts')")
        ).one()
    return f"rm_contacts {heap / 2**20:,.0f} MB, with indexes {total / 2**20:,.0f} MB"


# --- (c) lag from a write's acknowledgement to its visibility in the grid -----------

POLL = 0.001  # seconds between two reads of the grid's position
LAG_WARM_UP = 1.0  # seconds each writer runs before its writes are recorded
Ack = tuple[int, float, float, bool]  # position, ack time (monotonic), write seconds, record


@dataclass
class Acks:
    """Writes acknowledged and not yet seen in the grid."""

    pending: list[Ack] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ack: Ack) -> None:
        with self.lock:
            self.pending.append(ack)

    def covered(self, position: int) -> list[Ack]:
        with self.lock:
            done = [a for a in self.pending if a[0] <= position]
            self.pending = [a for a in self.pending if a[0] > position]
        return done


def bench_lag(store: Store, seconds: float, writers: int, rate: float | None) -> Sample:
    """The topology of `serve`: the projector follows in a background thread of this
    process, `writers` processes register new people one by one, and an observer thread
    here reads the grid's position every POLL seconds: a write is visible once the
    position covers it. rate None: each writer waits until the grid shows its write
    before the next; else writes arrive at `rate` per second in all (Poisson; 0: back to
    back), whether or not the grid keeps up."""
    system = build_system(store.settings())
    acks, stop = Acks(), threading.Event()
    seen: list[tuple[Ack, float]] = []
    context = get_context("spawn")
    queue = context.Queue()
    share = None if rate is None else rate / writers  # each writer's arrivals per second
    try:
        scenario = open_scenario(system.ledger, known=0)
        system.projector.catch_up()
        system.projector.start()
        observer = threading.Thread(target=observe, args=(store, acks, stop, seen))
        observer.start()
        processes = [
            context.Process(target=write_on, args=(store, scenario, w, seconds, share, queue))
            for w in range(writers)
        ]
        for process in processes:
            process.start()
        for _ in processes:
            while (ack := queue.get(timeout=120)) is not None:
                acks.add(ack)
        for process in processes:
            process.join()
        stop.set()
        observer.join()
        if system.projector.error:
            raise RuntimeError(f"the projector stopped: {system.projector.error}")
    finally:
        stop.set()
        system.close()
    kept = [(ack, lag) for ack, lag in seen if ack[3]]
    if not kept:
        raise RuntimeError("no write was recorded")
    writes = [1000 * ack[2] for ack, _ in kept]
    lags = [1000 * lag for _, lag in kept]
    return {
        "writes": len(kept),
        "rate": len(kept) / seconds,
        "write_p50": percentile(writes, 0.50),
        "write_p99": percentile(writes, 0.99),
        "lag_p50": percentile(lags, 0.50),
        "lag_p99": percentile(lags, 0.99),
        "lag_max": max(lags),
    }


def write_on(
    store: Store, scenario: Scenario, writer: int, seconds: float, rate: float | None, queue: Any
) -> None:
    """A writer process: its own ledger (and grid store, to wait for its writes)."""
    ledger = build_ledger(store.settings())
    engine = make_engine(store.settings().database)
    grid_store = SqlGridStore(engine)
    rng = random.Random(writer)
    started = due = time.monotonic()
    try:
        i = 0
        while (now := time.monotonic()) < started + LAG_WARM_UP + seconds:
            if rate:  # the next arrival of this writer's Poisson arrivals
                due += rng.expovariate(rate)
                time.sleep(max(0.0, due - now))
                now = time.monotonic()
            fields = {"email": f"lag{writer}-{i}@bench.org", "company": f"Initech {i}"}
            cmd = scenario.register(scenario.later, fields)
            outcome = ledger.register_participant(cmd, datetime.now(UTC), META)
            acked = time.monotonic()
            position = outcome.position or 0
            queue.put((position, acked, acked - now, now >= started + LAG_WARM_UP))
            while rate is None and grid_store.position() < position:
                time.sleep(POLL)
            i += 1
    finally:
        queue.put(None)
        ledger.close()
        engine.dispose()


def observe(store: Store, acks: Acks, stop: threading.Event, seen: list[tuple[Ack, float]]) -> None:
    """Until stopped and every write was seen (or 30 s more went by), read the position
    and settle the writes it covers. A plain driver connection and a prepared statement
    keep this thread light: it shares the interpreter with the projector."""
    with closing(PositionReader(store)) as reader:
        while not stop.is_set() or (acks.pending and time.monotonic() - acks.pending[0][1] < 30):
            position = reader.read()
            now = time.monotonic()
            seen += [(ack, now - ack[1]) for ack in acks.covered(position)]
            time.sleep(POLL)


class PositionReader:
    """The grid's tracking position, read through the driver directly."""

    SQL = f"SELECT position FROM rm_tracking WHERE name = '{grid.NAME}'"

    def __init__(self, store: Store) -> None:
        if store.kind == "postgres":
            self.connection: Any = pg_connect(store)
            self.params: Any = {"prepare": True}
        else:
            self.connection = sqlite3.connect(store.settings().database.path)
            self.params = {}

    def read(self) -> int:
        row = self.connection.execute(self.SQL, **self.params).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.connection.close()


# --- running and reporting ----------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    backends: tuple[str, ...]
    parts: str
    events: int
    contacts: int
    sqlite_contacts: int
    repeat: int
    runs: int
    budget: float
    lag_seconds: float
    lag_rate: float
    writers: int
    profile: bool
    explain: bool
    without_trigram: bool
    workdir: Path


def run_backend(plan: Plan, backend: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    if "a" in plan.parts:
        runs = [
            measure(plan, backend, "catch-up", attempt, partial(
                bench_catch_up, events=plan.events,
                profile=plan.profile and attempt == 1,
                library=attempt == 1,
            ))
            for attempt in range(1, plan.repeat + 1)
        ]  # fmt: skip
        rows += catch_up_rows(backend, medians(runs), runs[0])
    if "b" in plan.parts:
        m = plan.contacts if backend == "postgres" else plan.sqlite_contacts
        found = measure(plan, backend, "grid", 1, partial(
            bench_grid, m=m, runs=plan.runs, budget=plan.budget,
            explain=plan.explain, without_trigram=plan.without_trigram,
        ))  # fmt: skip
        rows += grid_rows(backend, m, found)
    if "c" in plan.parts:
        for rate in (None, plan.lag_rate):
            runs = [
                measure(plan, backend, f"lag {lag_mode(rate)}", attempt, partial(
                    bench_lag, seconds=plan.lag_seconds, writers=plan.writers, rate=rate))
                for attempt in range(1, plan.repeat + 1)
            ]  # fmt: skip
            rows += lag_rows(backend, plan.writers, rate, medians(runs))
    return rows


def measure(plan: Plan, backend: str, name: str, attempt: int, action: Callable[..., Any]) -> Any:
    """One measurement on a fresh store; per-run figures to stderr."""
    started = time.perf_counter()
    with fresh_store(backend, plan.workdir) as store:
        result = action(store)
    shown = ", ".join(
        f"{key} {value:,.1f}" for key, value in result.items() if isinstance(value, float | int)
    )
    took = time.perf_counter() - started
    print(f"  {backend} {name} run {attempt} ({took:.0f} s): {shown}", file=sys.stderr, flush=True)
    return result


def catch_up_rows(backend: str, m: Sample, first: Sample) -> list[tuple[str, ...]]:
    n = int(m["events"])
    raw = "COPY" if backend == "postgres" else "executemany, 1 transaction"
    if math.isnan(first["library"]):
        library = (
            "n/a: ProjectionRunner cannot subscribe to SQLite",
            f"same view, hand loop, 1 tx/event: {first['hand']:,.0f} events/s",
        )
    else:
        library = (f"{first['library']:,.0f} events/s", "first run only")
    return [
        (backend, "(a) catch-up: projector.rebuild()",
         f"{m['rebuild']:,.0f} events/s ({n:,} events)",
         f"raw {raw} of {n:,} rows: {m['raw']:,.0f} rows/s"),
        (backend, "    read + decode the log only", f"{m['read']:,.0f} events/s", ""),
        (backend, "    library ProjectionRunner, 1 tx/event", *library),
    ]  # fmt: skip


def grid_rows(backend: str, contacts: int, r: dict[str, Any]) -> list[tuple[str, ...]]:
    def ms(name: str) -> str:
        x = r[name]
        return f"p50 {x['p50']:,.1f} ms p95 {x['p95']:,.1f} ms ({x['runs']:.0f})"

    def pair(rows: str, count: str) -> str:
        return f"{ms(rows)} | {ms(count)}"

    rows = [
        (backend, f"(b) grid, {contacts:,} contacts ({r['sizes']})", "", ""),
        (backend, "    company eq + n_events ≥ 2, 1st page: page()",
         ms("filtered"), f"hand-written SQL, LIMIT 51: {ms('hand')}"),
        (backend, "      rows alone | count alone", pair("filtered_rows", "filtered_count"), ""),
        (backend, f"    deep keyset page ({r['pages']:,.0f} pages in): page()",
         ms("deep"), f"primary-key lookup: {ms('pk')}"),
        (backend, "      rows alone | count alone (all contacts, capped)",
         pair("deep_rows", "deep_count"), f"count capped at 10,001: {ms('capped')}"),
        (backend, "    search q=<one person's e-mail>: page()", ms("search"), ""),
        (backend, "      rows alone | count alone", pair("search_rows", "search_count"), ""),
        (backend, f"    search q={UNACCENTED!r} (no accents typed): page()",
         ms("unaccented"), f"primary-key lookup: {ms('pk')}"),
        (backend, "    contacts of one event (1 in 10): page()", ms("event"), ""),
        (backend, "      rows alone | count alone (capped)", pair("event_rows", "event_count"), ""),
        (backend, "    participated in that event (filter): page()", ms("participated"), ""),
        (backend, f"    company contains {CONTAINED!r}: page()", ms("contains"), ""),
    ]  # fmt: skip
    if "nogin_search" in r:
        rows += [
            (backend, "    without trigram indexes: search page() | count",
             pair("nogin_search", "nogin_search_count"), "--without-trigram"),
            (backend, "    without trigram indexes: contains page()",
             ms("nogin_contains"), "--without-trigram"),
        ]  # fmt: skip
    return rows


def lag_mode(rate: float | None) -> str:
    if rate is None:
        return "each waits for its write"
    return f"{rate:,.0f} writes/s offered" if rate else "back to back"


def lag_rows(backend: str, writers: int, rate: float | None, m: Sample) -> list[tuple[str, ...]]:
    return [
        (backend, f"(c) lag, write ack → grid: {writers} writers, {lag_mode(rate)}",
         f"p50 {m['lag_p50']:,.1f} ms p99 {m['lag_p99']:,.1f} ms",
         f"the write itself: p50 {m['write_p50']:,.1f} ms p99 {m['write_p99']:,.1f} ms; "
         f"{m['rate']:,.0f} writes/s done"),
    ]  # fmt: skip


def describe(plan: Plan) -> str:
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; (a) ≥{plan.events:,} events, {plan.repeat} runs, "
        f"medians; (b) {plan.contacts:,} contacts on PostgreSQL, {plan.sqlite_contacts:,} on "
        f"SQLite, up to {plan.runs} runs per query "
        f"({plan.budget:.0f} s budget each); (c) {plan.writers} writer processes, "
        f"{plan.repeat} × {plan.lag_seconds:.0f} s per mode, medians"
    )


def parse_args(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench.grid", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run")
    parser.add_argument("--events", type=int, default=50_000, help="(a) events in the log")
    parser.add_argument(
        "--contacts", type=int, default=1_000_000, help="(b) contacts on PostgreSQL"
    )
    parser.add_argument(
        "--sqlite-contacts", type=int, help="(b) contacts on SQLite (default: 200,000 at most)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="(a), (c) runs (median)")
    parser.add_argument("--runs", type=int, default=200, help="(b) runs per query")
    parser.add_argument(
        "--query-budget", type=float, default=10.0, help="(b) seconds per query (>= 10 runs)"
    )
    parser.add_argument("--lag-seconds", type=float, default=7.0, help="(c) seconds per run")
    parser.add_argument("--writers", type=int, default=2, help="(c) writer processes")
    parser.add_argument(
        "--lag-rate",
        type=float,
        default=250.0,
        help="(c) writes/s offered in the open-loop run (Poisson; 0: back to back)",
    )
    parser.add_argument("--profile", action="store_true", help="(a) stage split + pyinstrument")
    parser.add_argument("--explain", action="store_true", help="(b) query plans to stderr")
    parser.add_argument(
        "--without-trigram",
        action="store_true",
        help="(b) PostgreSQL: then drop the trigram indexes (no pg_trgm) and measure again",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    return Plan(
        backends, args.parts, args.events, args.contacts,
        args.sqlite_contacts or min(args.contacts, 200_000), args.repeat, args.runs,
        args.query_budget, args.lag_seconds, args.lag_rate, args.writers, args.profile,
        args.explain, args.without_trigram, args.workdir,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    plan = parse_args(argv)
    if "postgres" in plan.backends:
        try:
            psycopg.connect(PG_URL, connect_timeout=3).close()
        except psycopg.OperationalError as error:
            sys.exit(f"PostgreSQL is unreachable at {PG_URL} (set BENCH_POSTGRES_URL): {error}")
    plan.workdir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, ...]] = []
    for backend in plan.backends:
        started = time.perf_counter()
        rows += run_backend(plan, backend)
        print(f"  {backend}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(describe(plan))
    print_table(rows, what="measure")


if __name__ == "__main__":
    main()
