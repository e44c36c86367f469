"""Imports per second (F19), beside the time the reader alone takes on the same file.

A workbook of N rows × 6 columns, written the way Excel writes it (every text cell a
shared string), is imported into an event with contact sync on, in a fresh store: every
row is a new person, so each registers a participant and derives a contact. Each
measurement runs in a child process of its own, which also reports its peak RSS; the
reader-alone baseline reads the same file in another child. A second baseline, in the
import's child after it, writes the rows the import wrote back into the same tables by
plain batched INSERTs, and on PostgreSQL by COPY too (the database's part alone). See
bench/README.md.

Run from the repository root:  .venv/bin/python -m bench.imports --backend both
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from adapters.importing.job import ImportRequest
from adapters.importing.sheets import open_sheet
from adapters.ledger import build_ledger
from app import build_system
from bench.registrations import (
    META,
    Store,
    check_postgres,
    connect,
    fresh_store,
    print_table,
    synced_event,
    timed,
    transaction,
)

TITLES = ("E-mail", "Prénom", "Nom", "Société", "Ville", "Téléphone")
MAPPING = {
    "E-mail": "email",
    "Prénom": "first_name",
    "Nom": "last_name",
    "Société": "company",
    "Ville": "city",
    "Téléphone": "phone_mobile",
}
# Data rows a transaction of the raw baseline: 1,000, as the import batched them until
# decision 0051 (it now commits 500), so that the baseline is the same before and after.
RAW_BATCH_ROWS = 1_000
CITIES = ("Paris", "Lyon", "Genève", "Zürich", "Bruxelles", "Montréal", "Lille", "Nantes")

# --- a workbook as Excel writes it: shared strings, streamed to disk ------------------

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
    'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxml'
    'formats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Inscrits" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxml'
    'formats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def person(i: int) -> tuple[str, ...]:
    return (
        f"person{i}@bench-example.org",
        f"Prénom{i}",
        f"Nom{i}",
        f"Société {i % 5_000}",
        CITIES[i % len(CITIES)],
        f"+33 6 {i % 100:02d} {i // 100 % 100:02d} {i // 10_000 % 100:02d} 00",
    )


def write_workbook(
    path: Path, rows: int, people: Callable[[int], tuple[str, ...]] = person
) -> None:
    """TITLES then `rows` people; every cell a shared string (distinct strings once)."""
    strings: dict[str, int] = {}

    def index(text: str) -> int:
        return strings.setdefault(text, len(strings))

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
                        f'<dimension ref="A1:F{rows + 1}"/><sheetData>'.encode())  # fmt: skip
            for line, cells in enumerate([TITLES, *(people(i) for i in range(rows))], start=1):
                row = "".join(
                    f'<c r="{"ABCDEF"[col]}{line}" t="s"><v>{index(text)}</v></c>'
                    for col, text in enumerate(cells)
                )
                sheet.write(f'<row r="{line}">{row}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w") as shared:
            count = len(strings)
            shared.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" '
                         f'count="{count}" uniqueCount="{count}">'.encode())  # fmt: skip
            for text in strings:
                shared.write(f"<si><t>{escape(text)}</t></si>".encode())
            shared.write(b"</sst>")


# --- children: one measurement each, in a process of its own ----------------------------


def child_read(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with open_sheet(path) as sheet:
        rows = sum(1 for _ in sheet.rows())
    return {"seconds": time.perf_counter() - started, "rows": rows}


def child_import(path: Path, backend: str, workdir: Path) -> dict[str, Any]:
    with fresh_store(backend, workdir) as store, _watching_children() as children:
        ledger = build_ledger(store.settings())
        account_id = ledger.open_account("Bench", datetime.now(UTC), META).id
        event_id = synced_event(ledger, account_id, "2026")
        ledger.close()
        with closing(connect(store)) as connection:
            before = table_sizes(connection, store.kind)
        system = build_system(store.settings())
        try:
            request = ImportRequest(event_id, dict(MAPPING))
            started = time.perf_counter()
            job_id = system.runtime.importer.submit(
                account_id, request, path, META, datetime.now(UTC)
            )
            job = system.runtime.jobs.claim_queued(account_id, job_id, datetime.now(UTC))
            system.jobs.run(job)
            seconds = time.perf_counter() - started
            import_rss = peak_rss_mb()
            done = system.runtime.jobs.get(account_id, job_id)
            with closing(connect(store)) as connection:
                grown = grown_tables(before, table_sizes(connection, store.kind), done.processed)
            counts = system.runtime.importer.store.counts(job_id)
            head = system.ledger.recorder.max_notification_id() or 0
            projected = time.perf_counter()
            system.projector.catch_up()
            grid_seconds = time.perf_counter() - projected
        finally:
            system.close()
        rss_grid = peak_rss_mb()
        raw = written_raw(store, grown, done.processed)
    if done.status != "done" or counts["created"] != done.processed:
        raise RuntimeError(f"the import did not create every row: {done.status} {counts}")
    return {
        **raw,
        "seconds": seconds,
        "rows": done.processed,
        "events": head,
        "grid_seconds": grid_seconds,
        "rss_mb": import_rss,  # before the grid catch-up, which the next figure includes
        "helper_rss_mb": max(children.values(), default=0.0),  # its helper, reading ahead
        "rss_grid_mb": rss_grid,
    }


# --- the baseline beside the import: its own rows, written raw --------------------------

TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgres": "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
}
EMPTIED = {"sqlite": 'DELETE FROM "{}"', "postgres": 'TRUNCATE "{}"'}


def table_sizes(connection: Any, kind: str) -> dict[str, int]:
    names = [name for (name,) in connection.execute(TABLES[kind]).fetchall()]
    return {
        name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
    }


def grown_tables(before: dict[str, int], after: dict[str, int], rows: int) -> list[str]:
    """The tables an import of `rows` data rows grew by a row or more a data row."""
    return [name for name, size in after.items() if size - before.get(name, 0) >= max(rows, 1)]


def written_raw(store: Store, grown: list[str], rows: int) -> dict[str, float]:
    """The database's part alone: each table the import grew (events, key index, subject
    keys, the rows' outcomes) is read whole (untimed), emptied, and its rows written back
    into it, indexes and all, one committed transaction per `RAW_BATCH_ROWS` data rows, as the
    import batches them (timed): by the driver's `executemany` (INSERT), then, on
    PostgreSQL, emptied again and written back by `COPY`."""
    kind = store.kind
    with closing(connect(store)) as connection:
        taken = {name: connection.execute(f'SELECT * FROM "{name}"').fetchall() for name in grown}
        sample: dict[str, float] = {"raw_rows": sum(len(table) for table in taken.values())}
        for how in ("insert", "copy") if kind == "postgres" else ("insert",):
            for name in grown:
                connection.execute(EMPTIED[kind].format(name))
            write = partial(_write_back, connection, kind, taken, rows, how)
            sample[f"{how}_seconds"] = timed(write)
    return sample


def _write_back(
    connection: Any, kind: str, taken: dict[str, list[Any]], rows: int, how: str
) -> None:
    mark = "?" if kind == "sqlite" else "%s"
    inserts = {
        name: f'INSERT INTO "{name}" VALUES ({", ".join([mark] * len(table[0]))})'
        for name, table in taken.items()
    }
    batches = max(1, math.ceil(rows / RAW_BATCH_ROWS))
    for i in range(batches):
        with transaction(connection, kind) as cursor:
            for name, table in taken.items():
                chunk = table[i * len(table) // batches : (i + 1) * len(table) // batches]
                if how == "insert":
                    cursor.executemany(inserts[name], chunk)
                else:
                    with cursor.copy(f'COPY "{name}" FROM STDIN') as copy:
                        for row in chunk:
                            copy.write_row(row)


@contextmanager
def _watching_children() -> Iterator[dict[int, float]]:
    """The peak RSS (VmHWM, MB) of each child process this one starts meanwhile (the
    import's helper reading the file ahead), read every 0.1 s until it ends
    (VmHWM only grows). Only this process's children are read
    (`/proc/self/task/*/children`): scanning all of /proc took 9 ms, a cost the import
    would have shared."""
    peaks: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            for children in Path("/proc/self/task").glob("*/children"):
                with contextlib.suppress(OSError):
                    for pid in children.read_text().split():
                        hwm = _hwm_mb(Path(f"/proc/{pid}/status"))
                        if hwm is not None:
                            peaks[int(pid)] = max(peaks.get(int(pid), 0.0), hwm)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield peaks
    finally:
        done.set()
        watcher.join()


def _hwm_mb(status: Path) -> float | None:
    with contextlib.suppress(OSError):
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: ru_maxrss would count the parent's,
    which a child inherits on Linux across fork and exec)."""
    hwm = _hwm_mb(Path("/proc/self/status"))
    if hwm is None:
        raise RuntimeError("no VmHWM in /proc/self/status")
    return hwm


def run_child(*args: str, module: str = "bench.imports") -> dict[str, Any]:
    """Run `python -m <module> --child ARGS` (one measurement in a process of its own);
    its last line of output is the sample, as JSON."""
    answer = subprocess.run(
        [sys.executable, "-m", module, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- the plan --------------------------------------------------------------------------


def measure(backend: str, path: Path, workdir: Path, repeat: int) -> dict[str, float]:
    reads = [run_child("read", str(path)) for _ in range(repeat)]
    imports = [run_child("import", str(path), backend, str(workdir)) for _ in range(repeat)]
    for sample in imports:
        print(f"  {backend} {path.name}: {json.dumps(sample)}", file=sys.stderr)
    rows = imports[0]["rows"]
    return {
        "rows": rows,
        "rate": statistics.median(rows / s["seconds"] for s in imports),
        "read_rate": statistics.median(s["rows"] / s["seconds"] for s in reads),
        "rss": statistics.median(s["rss_mb"] for s in imports),
        "rss_grid": statistics.median(s["rss_grid_mb"] for s in imports),
        "helper_rss": statistics.median(s["helper_rss_mb"] for s in imports),
        "read_rss": statistics.median(s["rss_mb"] for s in reads),
        "events": imports[0]["events"] / rows,
        "grid_rate": statistics.median(rows / s["grid_seconds"] for s in imports),
        "insert_rate": statistics.median(rows / s["insert_seconds"] for s in imports),
        "copy_rate": (  # PostgreSQL only; 0 where there is no COPY
            statistics.median(rows / s["copy_seconds"] for s in imports)
            if "copy_seconds" in imports[0]
            else 0.0
        ),
        "raw_rows": imports[0]["raw_rows"] / rows,
    }


def table_rows(backend: str, m: dict[str, float]) -> list[tuple[str, ...]]:
    rows = f"{int(m['rows']):,} rows"
    return [
        (backend, f"import, {rows}", f"{m['rate']:,.0f} rows/s",
         f"reader alone {m['read_rate']:,.0f} rows/s; {m['events']:.1f} events/row"),
        (backend, f"  its rows written raw, {rows}", f"{m['insert_rate']:,.0f} rows/s",
         f"batched INSERT (executemany), {RAW_BATCH_ROWS:,} data rows/tx, "
         f"{m['raw_rows']:.1f} table rows a data row" + (
             f"; by COPY {m['copy_rate']:,.0f} rows/s" if m["copy_rate"] else "")),
        (backend, f"  peak RSS, {rows}", f"{m['rss']:.0f} MB",
         f"reader alone {m['read_rss']:.0f} MB; the import's helper "
         f"{m['helper_rss']:.0f} MB"),
        (backend, f"  grid catch-up after, {rows}", f"{m['grid_rate']:,.0f} rows/s",
         f"peak RSS with it {m['rss_grid']:.0f} MB"),
    ]  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        kind, *rest = args.child
        sample = (
            child_read(Path(rest[0]))
            if kind == "read"
            else child_import(Path(rest[0]), rest[1], Path(rest[2]))
        )
        sample.setdefault("rss_mb", peak_rss_mb())
        print(json.dumps(sample))
        return
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    args.backends = backends
    check_postgres(args)
    args.workdir.mkdir(parents=True, exist_ok=True)
    table: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        for rows in args.rows:
            path = Path(folder) / f"inscrits-{rows}.xlsx"
            write_workbook(path, rows)
            print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB", file=sys.stderr)
            for backend in backends:
                table += table_rows(backend, measure(backend, path, args.workdir, args.repeat))
    print_table(table, "measurement")


if __name__ == "__main__":
    main()
