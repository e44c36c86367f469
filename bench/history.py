"""History export rate (events/s), NDJSON and Parquet, beside reading the same log raw.

Each run writes a history of at least --events events into a fresh store with the
ledger's batched registration path (`bench.grid.write_history`: rounds of batched
registrations, half of them known people, then some status changes). Then, each in a
child process of its own (a cold key cache, its own peak RSS), on that same database:
  - raw: `recorder.select_notifications` in pages of 2,000, nothing decoded (baseline);
  - read + decode: the same pages, keys prefetched, each event through the sealing mapper;
  - the export to a file, NDJSON and Parquet (`adapters.history.export.export_history`);
  - an incremental NDJSON export after the log's middle position, where the accounts
    of aggregates created before it are looked up by their first event.
Figures are medians of --repeat runs. See bench/README.md.

Run from the repository root:  .venv/bin/python -m bench.history --backend both
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from adapters.history.export import HistoryRequest, export_history
from adapters.ledger import build_ledger
from adapters.projector import PAGE
from bench.grid import write_history
from bench.imports import peak_rss_mb
from bench.imports import run_child as bench_child
from bench.registrations import Store, check_postgres, fresh_store, print_table

MODES = ("raw", "decode", "ndjson", "parquet", "after")
Sample = dict[str, float]


# --- children: one measurement each, in a process of its own ---------------------------


def child(mode: str, store: Store, out: Path, after: int) -> Sample:
    ledger = build_ledger(store.settings())
    try:
        started = time.perf_counter()
        if mode == "raw":
            events, lookups = read_log(ledger, decode=False), 0
        elif mode == "decode":
            events, lookups = read_log(ledger, decode=True), 0
        else:
            events, lookups = export(ledger, mode, out, after)
        seconds = time.perf_counter() - started
    finally:
        ledger.close()
    size = out.stat().st_size if out.exists() else 0
    return {"events": events, "seconds": seconds, "lookups": lookups, "mb": size / 1e6}


def read_log(ledger: Any, decode: bool) -> int:
    start, read = 0, 0
    while page := ledger.recorder.select_notifications(start=start + 1, limit=PAGE):
        if decode:
            ledger.keyring.prefetch({n.originator_id for n in page})
            [ledger.mapper.to_domain_event(n) for n in page]
        read += len(page)
        start = page[-1].id
    return read


def export(ledger: Any, mode: str, out: Path, after: int) -> tuple[int, int]:
    fmt = "parquet" if mode == "parquet" else "ndjson"
    request = HistoryRequest(after=after if mode == "after" else 0)
    with out.open("wb") as sink:
        report = export_history(ledger, request, fmt, sink)
    return report.written, report.lookups


def run_child(mode: str, store: Store, out: Path, after: int) -> Sample:
    args = [mode, store.kind, store.url, str(store.data_dir), str(out), str(after)]
    return cast(Sample, bench_child(*args, module="bench.history"))


# --- one run: a fresh store, a history, every mode ----------------------------------------


def one_run(backend: str, events: int, workdir: Path) -> dict[str, Sample]:
    with fresh_store(backend, workdir) as store:
        history = write_history(store, events)
        print(f"    history: {history.head:,} events ({history.registrations:,} registrations)"
              f" written in {history.seconds:.1f} s", file=sys.stderr, flush=True)  # fmt: skip
        samples = {}
        for mode in MODES:
            out = store.data_dir / f"history-{mode}.out"
            sample = run_child(mode, store, out, history.head // 2)
            sample["rate"] = sample["events"] / sample["seconds"]
            samples[mode] = sample
            out.unlink(missing_ok=True)
    return samples


def measure(backend: str, events: int, workdir: Path, repeat: int) -> dict[str, Sample]:
    runs: list[dict[str, Sample]] = []
    for attempt in range(1, repeat + 1):
        runs.append(one_run(backend, events, workdir))
        shown = "; ".join(f"{mode} {s['rate']:,.0f}/s {s['rss_mb']:.0f} MB"
                          for mode, s in runs[-1].items())  # fmt: skip
        print(f"  {backend} run {attempt}: {shown}", file=sys.stderr, flush=True)
    return {
        mode: {key: statistics.median(run[mode][key] for run in runs) for key in runs[0][mode]}
        for mode in MODES
    }


def table_rows(backend: str, m: dict[str, Sample]) -> list[tuple[str, ...]]:
    raw, decode, after = m["raw"], m["decode"], m["after"]
    baseline = f"raw select_notifications: {raw['rate']:,.0f} events/s, {raw['rss_mb']:.0f} MB"
    rows = [
        (backend, f"read + decode only ({decode['events']:,.0f} events)",
         f"{decode['rate']:,.0f} events/s, peak RSS {decode['rss_mb']:.0f} MB", baseline),
    ]  # fmt: skip
    for fmt in ("ndjson", "parquet"):
        s = m[fmt]
        rows.append((backend, f"export {fmt} to a file",
                     f"{s['rate']:,.0f} events/s, {s['mb']:.1f} MB, peak RSS {s['rss_mb']:.0f} MB",
                     baseline))  # fmt: skip
    rows.append((backend, f"export ndjson --after the middle ({after['events']:,.0f} events)",
                 f"{after['rate']:,.0f} events/s, {after['lookups']:,.0f} account look-ups",
                 baseline))  # fmt: skip
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--events", type=int, default=100_000, help="history size (at least)")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each on a fresh store")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        mode, kind, url, data_dir, out, after = args.child
        sample = child(mode, Store(kind, url, Path(data_dir)), Path(out), int(after))
        print(json.dumps({**sample, "rss_mb": peak_rss_mb()}))
        return
    args.backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    check_postgres(args)
    args.workdir.mkdir(parents=True, exist_ok=True)
    table: list[tuple[str, ...]] = []
    for backend in args.backends:
        table += table_rows(backend, measure(backend, args.events, args.workdir, args.repeat))
    print(f"history of at least {args.events:,} events; {args.repeat} runs, medians")
    print_table(table, "measurement")


if __name__ == "__main__":
    main()
