"""A registration into a hot contact: p50/p99 when the person already has 1, 100 or 1,000
participants, each beside a raw single-row INSERT measured on the same database in the
same run (decision 0049).

The sizes are measured in turn (one registration of each, then again), each beside a
single-row INSERT into its own database at the same moment. The "1" case registers
`--measure` different people who each have one participant; the 100 and 1,000 cases
register one person `--measure` times more. Every measured
registration brings a new `company` (up_and_propagate), so each one changes the contact
and must reach every other participant: in the request for a few, through the
propagation follow-up (not running here: the request is what is measured) for many.
`--without` measures the same with the hot cache off and every propagation written in
the request (main before decision 0049), on fewer registrations: each one costs seconds.

Run from the repository root:  .venv/bin/python -m bench.hot_contact --backend both
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

from adapters.clock import utc_now
from adapters.hot_contacts import HotAggregates
from adapters.ledger import SealedContactLedger, build_ledger
from bench.registrations import META, RAW_INSERT, fresh_store, raw_connect, raw_rows
from domain import propagation
from domain.commands import ChangeSettings, ChangeSync, CreateOrganiserEvent, RegisterParticipant

SIZES = (1, 100, 1_000)
BATCH = 250
EMAIL = "claire.dubois@example.org"


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def timed_each(calls: list[Callable[[], Any]]) -> list[float]:
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


class Person:
    """An account with `company` up_and_propagate and events to register people in."""

    def __init__(self, ledger: SealedContactLedger) -> None:
        self.ledger = ledger
        self.account_id = ledger.open_account("Bench", utc_now(), META).id
        settings = ChangeSettings(self.account_id, ("email",), {"company": "up_and_propagate"}, 2)
        ledger.change_settings(settings, utc_now(), META)

    def events(self, count: int) -> list[uuid.UUID]:
        """One event per registration: the person is booked once in each."""
        made = []
        for index in range(count):
            create = CreateOrganiserEvent(self.account_id, f"Edition {index}", "event")
            event_id = self.ledger.create_organiser_event(create, utc_now(), META).id
            self.ledger.change_sync(ChangeSync(self.account_id, event_id, True), utc_now(), META)
            made.append(event_id)
        return made

    def registration(self, event_id: uuid.UUID, email: str, company: str) -> RegisterParticipant:
        fields = {"email": email, "company": company}
        return RegisterParticipant(self.account_id, event_id, fields, "registered", "api")

    def given(self, cmds: list[RegisterParticipant]) -> None:
        for start in range(0, len(cmds), BATCH):
            self.ledger.register_participants(cmds[start : start + BATCH], utc_now(), META)


def prepared(ledger: SealedContactLedger, size: int, count: int) -> list[Callable[[], Any]]:
    """`count` registrations into a person with `size` participants, ready to run."""
    person = Person(ledger)
    if size == 1:  # `count` people with one participant each
        first, second = person.events(1), person.events(1)
        people = [f"person{n}@example.org" for n in range(count)]
        person.given([person.registration(first[0], e, "Old") for e in people])
        cmds = [person.registration(second[0], e, "New") for e in people]
    else:
        events = person.events(size + count)
        person.given([person.registration(e, EMAIL, "Old") for e in events[:size]])
        cmds = [person.registration(e, EMAIL, f"Company {n}") for n, e in enumerate(events[size:])]
    return [_registering(ledger, cmd) for cmd in cmds]


def _registering(ledger: SealedContactLedger, cmd: RegisterParticipant) -> Callable[[], Any]:
    return lambda: ledger.register_participant(cmd, utc_now(), META)


def raw_inserts(connection: Any, kind: str, count: int) -> list[Callable[[], Any]]:
    """`count` single-row INSERTs (autocommit: a transaction each), ready to run."""
    insert = RAW_INSERT[kind]
    return [lambda row=row: connection.execute(insert, row) for row in raw_rows(count)]


def interleaved(calls: list[list[Callable[[], Any]]]) -> list[list[float]]:
    """Seconds of each call, one of each list in turn: a slow moment of the machine (the
    disk's flush, another process) falls on every series alike."""
    times: list[list[float]] = [[] for _ in calls]
    for turn in zip(*calls, strict=True):
        for series, call in zip(times, turn, strict=True):
            series.extend(timed_each([call]))
    return times


def without_decision_0049() -> Callable[[], None]:
    """Turn the hot cache and the queued propagation off; returns what turns them on."""
    hot_init, fan_out = HotAggregates.__init__, propagation.SYNC_FAN_OUT

    def cold_init(self: HotAggregates, *args: Any, **kwargs: Any) -> None:
        hot_init(self, *args, **{**kwargs, "ttl": 0})

    HotAggregates.__init__ = cold_init  # type: ignore[method-assign]
    propagation.SYNC_FAN_OUT = 10**9

    def restore() -> None:
        HotAggregates.__init__ = hot_init  # type: ignore[method-assign]
        propagation.SYNC_FAN_OUT = fan_out

    return restore


def run(kind: str, count: int, workdir: Path) -> None:
    """The three sizes on three fresh databases, measured in turn with their baselines."""
    with ExitStack() as stack:
        calls = []
        for size in SIZES:
            store = stack.enter_context(fresh_store(kind, workdir))
            ledger = build_ledger(store.settings())
            stack.callback(ledger.close)
            calls.append(prepared(ledger, size, count))
            connection = stack.enter_context(closing(raw_connect(store)))
            calls.append(raw_inserts(connection, kind, count))
        times = interleaved(calls)
    print(f"\n{kind}: {count} registrations per size, in turn with the INSERTs")
    print("| participants | p50 ms | p99 ms | p50 / p50 at 1 ", end="")
    print("| raw INSERT p50 / p99 ms | p50 / raw p50 |")
    print("|---:|---:|---:|---:|---:|---:|")
    first = None
    for size, registering, raw in zip(SIZES, times[::2], times[1::2], strict=True):
        (p50, p99), (raw50, raw99) = percentiles(registering), percentiles(raw)
        first = first or p50
        print(
            f"| {size:,} | {p50:.2f} | {p99:.2f} | {p50 / first:.2f} "
            f"| {raw50:.3f} / {raw99:.3f} | {p50 / raw50:.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--measure", type=int, default=200)
    parser.add_argument("--without", action="store_true", help="as before decision 0049")
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    restore = without_decision_0049() if args.without else (lambda: None)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for kind in kinds:
                run(kind, args.measure, Path(workdir))
    finally:
        restore()


if __name__ == "__main__":
    main()
