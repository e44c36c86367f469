"""Replay into the analysts' projection (F21): log entries per second of a rebuild of the
reports read model, beside reading the same log without decoding it (same run, same
database). See bench/README.md.

Run from the repository root:  .venv/bin/python -m bench.replay --backend both
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters.ledger import build_ledger
from adapters.sql.report_store import SqlReportStore
from bench.grid import rebuild_seconds, write_history
from bench.history import read_log
from bench.registrations import Store, fresh_store, print_table, timed


def raw_read_seconds(store: Store) -> float:
    """The baseline: every page of the log read as the projector reads it, not decoded."""
    ledger = build_ledger(store.settings())
    try:
        return timed(lambda: read_log(ledger, decode=False))
    finally:
        ledger.close()


def measure(kind: str, events: int, repeat: int, workdir: Path) -> dict[str, float]:
    with fresh_store(kind, workdir) as store:
        history = write_history(store, events)
        n = history.head
        print(f"  {kind}: history of {n:,} events in {history.seconds:.0f} s", file=sys.stderr)
        replays, reads = [], []
        for _ in range(repeat):
            reads.append(n / raw_read_seconds(store))
            replays.append(n / rebuild_seconds(store, n, timed, SqlReportStore))
            print(f"    replay {replays[-1]:,.0f} ev/s, raw read {reads[-1]:,.0f} ev/s",
                  file=sys.stderr, flush=True)  # fmt: skip
    return {"events": n, "replay": statistics.median(replays), "read": statistics.median(reads)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    rows = []
    for kind in backends:
        m = measure(kind, args.events, args.repeat, args.workdir)
        rows.append(
            (
                kind,
                f"replay into reports, {int(m['events']):,} events",
                f"{m['replay']:,.0f} events/s",
                f"log read alone, not decoded: {m['read']:,.0f} events/s",
            )
        )
    print_table(rows, "measurement")


if __name__ == "__main__":
    main()
