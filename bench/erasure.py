"""GDPR erasure and the purge, each figure beside a raw baseline from the same run.

(a) erase one contact: people registered in 5 synced events, then edited until the
    contact and its participants hold 50 events (counted from the log); then, with a new
    ledger (cold caches), `erase_contact(EraseContact(..., "request"))` one contact at a
    time: p50/p95. Baseline: one transaction of as many single-row INSERTs as the erasure
    writes rows (events, key-index deletion, subject-key deletions, shredded-subject rows).
(b) the purge: N contacts (half with two participants) registered in batches and
    deleted one by one (untimed, timed as set-up), the projector caught up, then
    `purger.run(as_of=deletion + 100 days)` end to end, split by stage. Baselines: N
    single-row committed transactions, and the scrub (WAL checkpoint / VACUUM FULL) alone.
(c) the scrub at scale (decision 0035): `rm_contacts` filled directly with M contacts
    (bench.grid's fill: realistic rows, the product's indexes, 1 in 10 also a participant
    of one event), the key tables with a subject key and a key-index entry per contact,
    100 contacts blanked as an erasure leaves them; then `purger.scrub()` (VACUUM FULL of
    every scrubbed table on PostgreSQL, the WAL checkpoint on SQLite), split by table,
    while a reader asks for a grid page every 50 ms (its slowest answer is how long the
    grid stood blocked). Baselines in the same run: `CREATE TABLE ... AS SELECT *` of the
    same contact rows (copying them once, no index), and a plain VACUUM of `rm_contacts`
    (what the scrub did before).

Each measurement runs on a fresh, empty database (a SQLite file or a PostgreSQL schema)
and its baseline is measured on that same database in the same run. See bench/README.md.

Run from the repository root:  .venv/bin/python -m bench.erasure --backend both
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import text

from adapters.ledger import SealedContactLedger, build_ledger
from adapters.purge import SCRUBBED_TABLES
from adapters.sql.engine import make_engine
from app import ContactLedgerSystem, build_system
from bench.grid import _stopwatch, fill, percentile, profiled
from bench.registrations import (
    BATCH,
    META,
    RAW_INSERT,
    Sample,
    Store,
    check_postgres,
    chunks,
    fresh_store,
    medians,
    print_table,
    raw_connect,
    raw_rate,
    raw_rows,
    synced_event,
    timed,
)
from domain.commands import (
    ChangeParticipantFields,
    ChangeSettings,
    DeleteContact,
    EraseContact,
    RegisterParticipant,
)
from domain.contacts import Contact

EVENTS_PER_PERSON = 5  # (a) organiser events each person registers for
WARM_UP = 3  # (a) untimed erasures first
PURGE_AFTER = timedelta(days=100)  # (b) as_of = deletion time + this (window: 2 months)
SYNC = {"company": "up_and_propagate"}
# Besides its events, an erasure deletes rows from the first two and adds to the third.
KEY_TABLES = ("ledger_contact_keys", "ledger_subject_keys", "ledger_shredded_subjects")

# --- shared ---------------------------------------------------------------------------


def open_account(ledger: SealedContactLedger, events: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """An account with key `email`, `company` up_and_propagate, `events` synced events."""
    now = datetime.now(UTC)
    account_id = ledger.open_account("Bench", now, META).id
    ledger.change_settings(ChangeSettings(account_id, ("email",), SYNC, 2), now, META)
    return account_id, [synced_event(ledger, account_id, f"E{i}") for i in range(events)]


def register(
    ledger: SealedContactLedger, account_id: uuid.UUID, event_id: uuid.UUID, people: list[str]
) -> list[uuid.UUID]:
    """Register these e-mail addresses for the event, BATCH per transaction: participant ids."""
    ids: list[uuid.UUID] = []
    for batch in chunks(people, BATCH):
        cmds = [
            RegisterParticipant(account_id, event_id, {"email": e, "company": f"Co {e}"})
            for e in batch
        ]
        ids += [o.id for o in ledger.register_participants(cmds, datetime.now(UTC), META)]
    return ids


def contacts_of(ledger: SealedContactLedger, participant_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """The contact of each participant, in order (loaded 500 at a time)."""
    found: list[uuid.UUID] = []
    for batch in chunks(participant_ids, 500):
        loaded = ledger.load_many(batch)
        found += [loaded[i].contact_id for i in batch]  # type: ignore[attr-defined]
    return found


def table_rows(store: Store, ledger: SealedContactLedger) -> dict[str, int]:
    """Rows in the key tables, and the log's head."""
    with closing(raw_connect(store)) as connection:
        counts = {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in KEY_TABLES
        }
    counts["events"] = ledger.recorder.max_notification_id() or 0
    return counts


def rows_written(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """What erasures wrote: events, key-index deletions, subject-key deletions and
    shredded-subject rows (deletions count as rows written)."""
    return {
        "events": after["events"] - before["events"],
        "released": before["ledger_contact_keys"] - after["ledger_contact_keys"],
        "shredded": before["ledger_subject_keys"] - after["ledger_subject_keys"],
        "listed": after["ledger_shredded_subjects"] - before["ledger_shredded_subjects"],
    }


# --- (a) erase one contact -------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    contact_id: uuid.UUID
    participant_ids: list[uuid.UUID]  # one per event, in event order
    events: int  # events of the contact and its participants in the log


def build_people(
    ledger: SealedContactLedger, n: int, target: int
) -> tuple[uuid.UUID, list[uuid.UUID], list[Person]]:
    """n people, each registered in every event, then edited to `target` events."""
    account_id, events = open_account(ledger, EVENTS_PER_PERSON)
    emails = [f"person{i}@bench.org" for i in range(n)]
    by_event = [register(ledger, account_id, event_id, emails) for event_id in events]
    contact_ids = contacts_of(ledger, by_event[0])
    people = []
    for i, contact_id in enumerate(contact_ids):
        participant_ids = [ids[i] for ids in by_event]
        count = edit_to(ledger, account_id, events, contact_id, participant_ids, target)
        people.append(Person(contact_id, participant_ids, count))
    return account_id, events, people


def edit_to(
    ledger: SealedContactLedger,
    account_id: uuid.UUID,
    events: list[uuid.UUID],
    contact_id: uuid.UUID,
    participant_ids: list[uuid.UUID],
    target: int,
) -> int:
    """Edit participants until contact + participants hold `target` events: `company`
    (goes up, then down to the others: 1 + 1 + 4 events) while it fits, then `job_title`
    (not synced: 1 event). Returns the exact count from the log."""
    ids = [contact_id, *participant_ids]
    count = len(ledger.recorder.select_events_of(ids))  # type: ignore[attr-defined]
    edit = 0
    while count < target:
        k = edit % len(participant_ids)
        name = "company" if target - count >= len(ids) else "job_title"
        cmd = ChangeParticipantFields(
            account_id, events[k], participant_ids[k], {name: f"{name} {edit}"}
        )
        ledger.change_participant_fields(cmd, datetime.now(UTC), META)
        count = len(ledger.recorder.select_events_of(ids))  # type: ignore[attr-defined]
        edit += 1
    return count


def bench_erase(store: Store, contacts: int, target: int, profile: bool) -> Sample:
    """erase_contact on request, one contact (and its participants) per call."""
    setup = build_ledger(store.settings())
    try:
        account_id, _, people = build_people(setup, WARM_UP + contacts, target)
    finally:
        setup.close()
    ledger = build_ledger(store.settings())  # cold key cache, as for a request that comes later
    try:
        for person in people[:WARM_UP]:
            erase(ledger, account_id, person.contact_id)
        measured = people[WARM_UP:]
        before = table_rows(store, ledger)
        run = partial(erase_all, ledger, account_id, measured)
        took = profiled(run) if profile else run()
        after = table_rows(store, ledger)
        erased = sum(ledger.contact(account_id, p.contact_id).erased for p in measured)
    finally:
        ledger.close()
    if erased != len(measured):
        raise RuntimeError(f"only {erased} of {len(measured)} contacts are erased")
    wrote = rows_written(before, after)
    per_erasure = sum(wrote.values()) / len(measured)
    raw = raw_transactions(store, round(per_erasure), len(measured))
    events = [p.events for p in measured]
    return {
        "p50": 1000 * percentile(took, 0.50),
        "p95": 1000 * percentile(took, 0.95),
        "raw_p50": 1000 * percentile(raw, 0.50),
        "raw_p95": 1000 * percentile(raw, 0.95),
        "events_min": min(events),
        "events_max": max(events),
        "rows": per_erasure,
        **{f"{key}/erasure": value / len(measured) for key, value in wrote.items()},
    }


def erase(ledger: SealedContactLedger, account_id: uuid.UUID, contact_id: uuid.UUID) -> float:
    cmd = EraseContact(account_id, contact_id, "request")
    return timed(lambda: ledger.erase_contact(cmd, datetime.now(UTC), META))


def erase_all(ledger: SealedContactLedger, account_id: uuid.UUID, people: list[Person]) -> Any:
    return [erase(ledger, account_id, p.contact_id) for p in people]


def raw_transactions(store: Store, rows: int, times: int) -> list[float]:
    """Seconds of each of `times` transactions, each `rows` single-row INSERT statements."""
    took = []
    with closing(raw_connect(store)) as connection:
        for _ in range(times):
            batch = raw_rows(rows)
            took.append(timed(partial(one_transaction, connection, store.kind, batch)))
    return took


def one_transaction(connection: Any, kind: str, rows: list[tuple[str, bytes]]) -> None:
    if kind == "sqlite":
        connection.execute("BEGIN")
        for row in rows:
            connection.execute(RAW_INSERT[kind], row)
        connection.execute("COMMIT")
    else:
        with connection.transaction():
            for row in rows:
                connection.execute(RAW_INSERT[kind], row)


# --- (b) the purge -----------------------------------------------------------------------

PURGE_STAGES = (
    ("projector", "catch_up", "projector catch-ups"),
    ("grid", "due_for_erasure", "work list (due_for_erasure)"),
    ("ledger", "erase_contact", "erase_contact, one tx each"),
    ("ledger", "erase_participant", "erase_participant"),
    ("purger", "scrub", "scrub (checkpoint / VACUUM)"),
)


def bench_purge(store: Store, contacts: int, profile: bool) -> Sample:
    """purger.run(as_of) over `contacts` deleted contacts, after the set-up."""
    system = build_system(store.settings())
    try:
        return purge_run(store, system, contacts, profile)
    finally:
        system.close()


def purge_run(store: Store, system: ContactLedgerSystem, n: int, profile: bool) -> Sample:
    ledger = system.ledger
    account_id, events = open_account(ledger, 2)
    emails = [f"person{i}@bench.org" for i in range(n)]
    started = time.perf_counter()
    first = register(ledger, account_id, events[0], emails)
    register(ledger, account_id, events[1], emails[0::2])  # half: a second participant
    registered = time.perf_counter() - started
    contact_ids = contacts_of(ledger, first)
    deleted_at = datetime.now(UTC)
    deleting = timed(lambda: [delete(ledger, account_id, c, deleted_at) for c in contact_ids])
    catching_up = timed(system.projector.catch_up)
    print(f"    set-up: {n:,} contacts registered in {registered:.1f} s, deleted one by one in "
          f"{deleting:.1f} s ({1000 * deleting / n:.1f} ms each), projector caught up in "
          f"{catching_up:.1f} s", file=sys.stderr)  # fmt: skip

    raw = n / raw_rate(store, n, per_tx=1)
    before = table_rows(store, ledger)
    spent: dict[str, float] = {}
    as_of = deleted_at + PURGE_AFTER
    with stopwatches(system, spent):
        run = partial(system.purger.run, as_of)
        report, took = profiled_call(run) if profile else timed_call(run)
    after = table_rows(store, ledger)
    erased = count_erased(ledger, contact_ids)
    again, took_again = timed_call(partial(system.purger.run, as_of))
    scrub = timed(system.purger.scrub)
    if report.contacts != n or erased != n or again.contacts or again.participants:
        raise RuntimeError(
            f"purge erased {report.contacts} (+{report.participants} lone participants), "
            f"{erased} of {n} contacts are erased, a second run erased {again.contacts}"
        )
    wrote = rows_written(before, after)
    print_split(spent, took, n)
    return {
        "seconds": took,
        "rate": n / took,
        "raw": raw,
        "scrub": scrub,
        "again": took_again,
        "registered": registered,
        "deleting": deleting,
        "catching_up": catching_up,
        "rows": sum(wrote.values()) / n,
        **{f"{key}/erasure": value / n for key, value in wrote.items()},
        **{label: spent.get(label, 0.0) for _, _, label in PURGE_STAGES},
    }


def delete(
    ledger: SealedContactLedger, account_id: uuid.UUID, contact_id: uuid.UUID, at: datetime
) -> None:
    ledger.delete_contact(DeleteContact(account_id, contact_id), at, META)


def count_erased(ledger: SealedContactLedger, contact_ids: list[uuid.UUID]) -> int:
    """How many of these contacts the ledger says are erased (loaded 500 at a time, and
    the first 100 also one by one through `ledger.contact`)."""
    account_id = ledger.load(contact_ids[0]).account_id  # type: ignore[attr-defined]
    if not all(ledger.contact(account_id, c).erased for c in contact_ids[:100]):
        return 0
    erased = 0
    for batch in chunks(contact_ids, 500):
        loaded = ledger.load_many(batch).values()
        erased += sum(isinstance(c, Contact) and c.erased for c in loaded)
    return erased


class stopwatches:  # noqa: N801 (used like a function: `with stopwatches(...)`)
    """Time each stage of a purge by wrapping the purger's collaborators (instance
    attributes in this process only; removed afterwards)."""

    def __init__(self, system: ContactLedgerSystem, spent: dict[str, float]) -> None:
        self.owners = [(getattr(system, o), name, label) for o, name, label in PURGE_STAGES]
        self.spent = spent

    def __enter__(self) -> None:
        for owner, name, label in self.owners:
            setattr(owner, name, _stopwatch(getattr(owner, name), label, self.spent))

    def __exit__(self, *_: object) -> None:
        for owner, name, _ in self.owners:
            delattr(owner, name)


def timed_call(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def profiled_call(action: Callable[[], Any]) -> tuple[Any, float]:
    box: list[Any] = []
    took = profiled(lambda: box.append(action()))
    return box[0], took


def print_split(spent: dict[str, float], took: float, n: int) -> None:
    print(f"    purge stages: {n:,} contacts in {took:.2f} s = {n / took:,.0f} contacts/s",
          file=sys.stderr)  # fmt: skip
    for _, _, label in PURGE_STAGES:
        seconds = spent.get(label, 0.0)
        print(f"      {label:30} {seconds:7.2f} s {1000 * seconds / n:6.2f} ms/contact "
              f"{100 * seconds / took:4.0f}%", file=sys.stderr)  # fmt: skip


# --- (c) the scrub at scale -------------------------------------------------------------

BLANKED = 100  # contacts blanked as erased before the scrub (its cost hardly depends on it)
KEY_FILL = {
    "postgres": (
        "INSERT INTO ledger_subject_keys SELECT contact_id, decode(md5(contact_id::text) "
        "|| md5(contact_id::text || 'k'), 'hex') FROM rm_contacts",
        "INSERT INTO ledger_contact_keys SELECT account_id, md5(contact_id::text) "
        "|| md5(contact_id::text || 'd'), contact_id FROM rm_contacts",
    ),
    "sqlite": (
        "INSERT INTO ledger_subject_keys SELECT contact_id, randomblob(32) FROM rm_contacts",
        "INSERT INTO ledger_contact_keys SELECT account_id, hex(randomblob(32)), contact_id "
        "FROM rm_contacts",
    ),
}
BLANK = (
    "UPDATE rm_contacts SET fields = '{}', folded = '{}', email = NULL, first_name = NULL, "
    "last_name = NULL, company = NULL, job_title = NULL, sort_name = '', search = '', "
    "erased = :yes WHERE contact_id IN "
    "(SELECT contact_id FROM rm_contacts ORDER BY contact_id LIMIT :n)"
)
PAGE = "SELECT contact_id FROM rm_contacts WHERE deleted = :no ORDER BY sort_name LIMIT 50"


def bench_scrub(store: Store, contacts: int, profile: bool) -> Sample:
    """purger.scrub() over M filled contacts, per table, with a reader beside it."""
    system = build_system(store.settings())
    engine = make_engine(store.settings().database)
    try:
        started = time.perf_counter()
        fill(store, engine, contacts)
        with engine.begin() as connection:
            for statement in KEY_FILL[store.kind]:
                connection.execute(text(statement))
            connection.execute(text(BLANK), {"yes": True, "n": BLANKED})
        print(f"    set-up: {contacts:,} contacts and their keys filled in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)  # fmt: skip
        sizes = table_sizes(store, engine)
        copy = timed(partial(copy_contacts, engine))
        plain = timed(partial(plain_vacuum, store, engine))
        with Reader(engine) as reader:
            run = system.purger.scrub
            report, took = profiled_call(run) if profile else timed_call(run)
        if not report.done:
            raise RuntimeError(f"the scrub did not complete: {report.why_not}")
    finally:
        engine.dispose()
        system.close()
    return {
        "seconds": took,
        "copy": copy,
        "plain_vacuum": plain,
        "reader_max": reader.slowest,
        "reader_p50": percentile(reader.took, 0.5),
        **{f"t:{table}": seconds for table, seconds in report.seconds.items()},
        **{f"mb:{table}": mb for table, mb in sizes.items()},
    }


def table_sizes(store: Store, engine: Any) -> dict[str, float]:
    """MB of each scrubbed table with its indexes and TOAST (PostgreSQL only)."""
    if store.kind != "postgres":
        return {}
    with engine.connect() as connection:
        return {
            table: connection.execute(
                text("SELECT pg_total_relation_size(to_regclass(:t)) / 1e6"), {"t": table}
            ).scalar()
            or 0.0
            for table in SCRUBBED_TABLES
        }


def copy_contacts(engine: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_copy AS SELECT * FROM rm_contacts"))
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE bench_copy"))


def plain_vacuum(store: Store, engine: Any) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM rm_contacts" if store.kind == "postgres" else "SELECT 1"))


class Reader:
    """A grid page every 50 ms from another connection, while the scrub runs."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.took, self._stop = engine, [0.0], threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    @property
    def slowest(self) -> float:
        return max(self.took)

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _read(self) -> None:
        with self.engine.connect() as connection:
            while not self._stop.wait(0.05):
                self.took.append(timed(lambda: connection.execute(text(PAGE), {"no": False}).all()))
                connection.rollback()


# --- running and reporting ------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    backends: tuple[str, ...]
    parts: str
    erase_contacts: int
    target_events: int
    contacts: int
    repeat: int
    purge_repeat: int
    scrub_contacts: dict[str, int]
    profile: bool
    workdir: Path

    def measurements(self) -> list[tuple[str, int, Callable[[Store], Sample]]]:
        found: list[tuple[str, int, Callable[[Store], Sample]]] = []
        if "a" in self.parts:
            erase = partial(
                bench_erase,
                contacts=self.erase_contacts,
                target=self.target_events,
                profile=self.profile,
            )
            found.append(("erase", self.repeat, erase))
        if "b" in self.parts:
            purge = partial(bench_purge, contacts=self.contacts, profile=self.profile)
            found.append(("purge", self.purge_repeat, purge))
        return found

    def for_backend(self, backend: str) -> list[tuple[str, int, Callable[[Store], Sample]]]:
        found = self.measurements()
        if "c" in self.parts:
            contacts = self.scrub_contacts[backend]
            scrub = partial(bench_scrub, contacts=contacts, profile=self.profile)
            found.append(("scrub", self.purge_repeat, scrub))
        return found


def run_backend(plan: Plan, backend: str) -> dict[str, Sample]:
    """Every measurement its number of times, each on a fresh store; medians."""
    samples: dict[str, list[Sample]] = {}
    for name, repeat, measure in plan.for_backend(backend):
        for attempt in range(1, repeat + 1):
            sample, took = timed_call(partial(run_once, measure, backend, plan.workdir))
            samples.setdefault(name, []).append(sample)
            shown = ", ".join(f"{key} {value:,.2f}" for key, value in sample.items())
            print(f"  {backend} {name} run {attempt} ({took:.0f} s): {shown}",
                  file=sys.stderr, flush=True)  # fmt: skip
    return {name: {**medians(runs), **spread(runs, SPREAD[name])} for name, runs in samples.items()}


SPREAD = {
    "erase": "p95",
    "purge": "seconds",
    "scrub": "seconds",
}  # the figure whose range over runs is shown


def spread(runs: list[Sample], key: str) -> Sample:
    return {"lo": min(run[key] for run in runs), "hi": max(run[key] for run in runs)}


def run_once(measure: Callable[[Store], Sample], backend: str, workdir: Path) -> Sample:
    with fresh_store(backend, workdir) as store:
        return measure(store)


def rows_for(backend: str, name: str, m: Sample, plan: Plan) -> list[tuple[str, ...]]:
    if name == "erase":
        events = f"{m['events_min']:.0f}" + (
            f"–{m['events_max']:.0f}" if m["events_max"] != m["events_min"] else ""
        )
        return [
            (backend, f"(a) erase one contact ({events} events, {EVENTS_PER_PERSON} participants)",
             f"p50 {m['p50']:.1f} ms p95 {m['p95']:.1f} ms (p95 over runs "
             f"{m['lo']:.1f}–{m['hi']:.1f})",
             f"1 tx of {m['rows']:.0f} single-row INSERTs: p50 {m['raw_p50']:.1f} ms "
             f"p95 {m['raw_p95']:.1f} ms"),
            (backend, "      rows written per erasure",
             f"{m['rows']:.0f}: {m['events/erasure']:.0f} events, {m['released/erasure']:.0f} "
             f"key-index deletion, {m['shredded/erasure']:.0f} subject keys deleted + "
             f"{m['listed/erasure']:.0f} listed", ""),
        ]  # fmt: skip
    if name == "scrub":
        return scrub_rows(backend, m, plan.scrub_contacts[backend])
    n = plan.contacts
    shown = [label for _, name, label in PURGE_STAGES if name != "erase_participant" or m[label]]
    stages = " | ".join(f"{m[label]:.2f}" for label in shown)
    labels = " | ".join(label.split(" (")[0].split(",")[0] for label in shown)
    return [
        (backend, f"(b) purge {n:,} due contacts: purger.run()",
         f"{m['seconds']:.1f} s ({m['rate']:,.0f} contacts/s; runs {m['lo']:.1f}–{m['hi']:.1f} s)",
         f"{n:,} single-row transactions: {m['raw']:.1f} s"),
        (backend, f"      split: {labels}", f"{stages} s",
         f"scrub alone, run again after: {1000 * m['scrub']:.0f} ms"),
        (backend, "      rows written per erasure",
         f"{m['rows']:.1f}: {m['events/erasure']:.1f} events, "
         f"{m['shredded/erasure']:.1f} keys deleted + {m['listed/erasure']:.1f} listed", ""),
        (backend, "      second run (nothing due)", f"{m['again']:.2f} s, 0 erased", ""),
        (backend, "      set-up (untimed): register | delete | catch up",
         f"{m['registered']:.0f} | {m['deleting']:.0f} | {m['catching_up']:.0f} s",
         f"delete: {1000 * m['deleting'] / n:.1f} ms per contact"),
    ]  # fmt: skip


def scrub_rows(backend: str, m: Sample, n: int) -> list[tuple[str, ...]]:
    tables = sorted((k[2:] for k in m if k.startswith("t:")), key=lambda t: -m[f"t:{t}"])
    split = ", ".join(
        f"{t} {m[f't:{t}']:.1f} s" + (f" ({m[f'mb:{t}']:,.0f} MB)" if f"mb:{t}" in m else "")
        for t in tables
        if m[f"t:{t}"] >= 0.05
    )
    baseline = f"CREATE TABLE AS of the contacts: {m['copy']:.1f} s"
    if backend == "postgres":
        baseline += f"; plain VACUUM: {m['plain_vacuum']:.1f} s"
    return [
        (backend, f"(c) scrub at {n:,} contacts: purger.scrub()",
         f"{m['seconds']:.1f} s (runs {m['lo']:.1f}–{m['hi']:.1f} s)", baseline),
        (backend, "      split (tables over 0.05 s)", split or "-", ""),
        (backend, "      a grid page meanwhile (every 50 ms)",
         f"slowest {m['reader_max']:.1f} s, p50 {1000 * m['reader_p50']:.0f} ms", ""),
    ]  # fmt: skip


def describe(plan: Plan) -> str:
    parts = {
        "a": f"(a) {plan.erase_contacts} erasures per run after {WARM_UP} warm-ups, "
        f"{plan.repeat} runs",
        "b": f"(b) {plan.contacts:,} contacts (half with 2 participants), "
        f"{plan.purge_repeat} runs",
        "c": "(c) " + ", ".join(f"{n:,} contacts on {kind}"
                                for kind, n in plan.scrub_contacts.items()
                                if kind in plan.backends) + f", {plan.purge_repeat} runs",
    }  # fmt: skip
    shown = "; ".join(text for part, text in parts.items() if part in plan.parts)
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {shown}; medians"
    )


def parse_args(argv: Sequence[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="python -m bench.erasure", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--parts", default="ab", help="a: erase one contact; b: the purge; c: the scrub at scale"
    )
    parser.add_argument("--erase-contacts", type=int, default=30, help="(a) erasures per run")
    parser.add_argument("--events", type=int, default=50, help="(a) events per contact")
    parser.add_argument("--contacts", type=int, default=10_000, help="(b) contacts purged")
    parser.add_argument("--scrub-contacts", type=int, default=1_000_000, help="(c) PostgreSQL")
    parser.add_argument("--sqlite-scrub-contacts", type=int, default=200_000, help="(c) SQLite")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--purge-repeat", type=int, help="(b) runs, if not --repeat")
    parser.add_argument("--profile", action="store_true", help="pyinstrument to stderr")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    return Plan(
        backends,
        args.parts,
        args.erase_contacts,
        args.events,
        args.contacts,
        args.repeat,
        args.purge_repeat or args.repeat,
        {"postgres": args.scrub_contacts, "sqlite": args.sqlite_scrub_contacts},
        args.profile,
        args.workdir,
    )


def main(argv: Sequence[str] | None = None) -> None:
    plan = parse_args(argv)
    check_postgres(plan)  # type: ignore[arg-type] (it reads .backends only)
    plan.workdir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, ...]] = []
    for backend in plan.backends:
        started = time.perf_counter()
        for name, sample in run_backend(plan, backend).items():
            rows += rows_for(backend, name, sample, plan)
        print(f"  {backend}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(describe(plan))
    print_table(rows, what="measure")


if __name__ == "__main__":
    main()
