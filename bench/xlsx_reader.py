"""The .xlsx reader at its limit: peak memory and rows/s, beside the sheet's XML alone.

The limit is the upload cap (`--mb`) or, before it, the most text the reader accepts (its
shared strings under SHARED_STRINGS_LIMIT: decision 0054, a larger workbook is refused
with the advice to save it as .csv).

Two workbooks just under `--mb` MiB (the upload cap, LEDGER_IMPORT_MAX_MB: 50), written the way
Excel writes one (every text cell a shared string, see bench/imports.py):

- `typical`: the contact rows of bench.imports (e-mail, first and last name, company, city,
  phone): short, distinct strings that compress well, so the most strings per megabyte;
- `distinct`: six random strings a row, every one distinct: fewer, longer strings.

Each reading runs in a child process of its own, which reports its peak RSS (VmHWM):
- `reader`: `open_sheet` and every row, as an import reads them; `open s` is the time the
  header check takes (an upload is checked in the request, decision 0022);
- `baseline`: the same sheet's XML inflated and pulled element by element by the standard
  library (zipfile and XMLPullParser, each row dropped once read), shared strings unread.

Run from the repository root:  .venv/bin/python -m bench.xlsx_reader
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, XMLPullParser

from adapters.importing.sheets import SHARED_STRINGS_LIMIT, open_sheet
from bench.imports import MAIN, peak_rss_mb, person, run_child, write_workbook
from bench.registrations import print_table

MODULE = "bench.xlsx_reader"  # the children's, also when this runs as __main__
SAMPLE_ROWS = 20_000  # written first, to size the workbook for the cap
ROW_TAG = f"{{{MAIN}}}row"


def distinct(i: int) -> tuple[str, ...]:
    """Six strings no other cell holds (seeded: the same file in every run)."""
    rng = random.Random(i)

    def word(n: int) -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=n))

    return (
        f"{word(8)}.{word(9)}@{word(7)}.fr",
        word(7).title(),
        word(10).title(),
        f"{word(6)} {word(8)}".title(),
        f"{rng.randint(1, 999)} rue {word(9)}",
        f"+33 6 {rng.randint(10**7, 10**8 - 1)}",
    )


KINDS: dict[str, Callable[[int], tuple[str, ...]]] = {"typical": person, "distinct": distinct}


def write_capped(path: Path, kind: str, mebibytes: float) -> int:
    """A workbook of `kind` rows, 95 % of `mebibytes` as a sample's size per row predicts,
    or fewer: the most the reader accepts (its shared strings under SHARED_STRINGS_LIMIT,
    decision 0054), whichever is smaller."""
    write_workbook(path, SAMPLE_ROWS, KINDS[kind])
    by_file = 0.95 * mebibytes * 2**20 / path.stat().st_size
    by_text = 0.97 * SHARED_STRINGS_LIMIT / _shared_strings_bytes(path)
    rows = int(min(by_file, by_text) * SAMPLE_ROWS)
    write_workbook(path, rows, KINDS[kind])
    return rows


def _shared_strings_bytes(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return archive.getinfo("xl/sharedStrings.xml").file_size


def child_reader(path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    with open_sheet(path) as sheet:
        opened = time.perf_counter() - started
        rows = sum(1 for _ in sheet.rows())
    return {"seconds": time.perf_counter() - started, "open_seconds": opened, "rows": rows}


def child_baseline(path: Path) -> dict[str, Any]:
    started, rows = time.perf_counter(), 0
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    open_elements: list[Element] = []
    with zipfile.ZipFile(path) as archive, archive.open("xl/worksheets/sheet1.xml") as xml:
        for chunk in iter(lambda: xml.read(64 * 1024), b""):
            parser.feed(chunk)
            for event, element in parser.read_events():
                if event == "start":
                    open_elements.append(element)
                    continue
                open_elements.pop()
                if element.tag == ROW_TAG:
                    rows += 1
                    open_elements[-1].remove(element)
    return {"seconds": time.perf_counter() - started, "open_seconds": 0.0, "rows": rows - 1}


def table_rows(kind: str, size: float, reader: dict[str, Any], raw: dict[str, Any]) -> list:
    what = f"{kind}, {size:.1f} MiB, {reader['rows']:,} rows"
    return [
        (
            "xlsx",
            f"{what}: peak RSS",
            f"{reader['rss_mb']:.0f} MB",
            f"{raw['rss_mb']:.0f} MB (sheet XML alone)",
        ),
        (
            "xlsx",
            f"{what}: rows/s (open s)",
            f"{reader['rows'] / reader['seconds']:,.0f} ({reader['open_seconds']:.1f} s)",
            f"{raw['rows'] / raw['seconds']:,.0f}",
        ),
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="the cap, in MiB")
    parser.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=sorted(KINDS))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        which, path = args.child
        sample = (child_reader if which == "reader" else child_baseline)(Path(path))
        print(json.dumps({**sample, "rss_mb": peak_rss_mb()}))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    table: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        for kind in args.kinds:
            path = Path(folder) / f"{kind}.xlsx"
            write_capped(path, kind, args.mb)
            size = path.stat().st_size / 2**20
            samples = [run_child(who, str(path), module=MODULE) for who in ("reader", "raw")]
            print(f"  {kind}: {json.dumps(samples)}", file=sys.stderr)
            table += table_rows(kind, size, *samples)
            path.unlink()
    print_table(table, "measurement")


if __name__ == "__main__":
    main()
