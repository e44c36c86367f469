"""Read a CSV file's one table.

CSV encoding: a byte-order mark decides (UTF-8 or UTF-16). Otherwise the whole file is
validated as UTF-8 in 1 MiB chunks with an incremental decoder, because a single accented
letter near the end is enough to tell UTF-8 from the cp1252 that French Excel writes. A file
that is not UTF-8 is cp1252, unless it holds a byte cp1252 leaves undefined (0x81, 0x8D,
0x8F, 0x90, 0x9D): then latin-1, which decodes anything. The delimiter is sniffed from the
first 64 KiB. A pre-pass with the csv module counts the rows and finds unreadable ones.

`line` counts records, not physical lines: a quoted value may span lines.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import IO

from adapters.importing.table import (
    AGAIN,
    FileRefusedError,
    Row,
    Sheet,
    filled,
    fitted,
    is_blank,
    titles,
)

CHUNK_BYTES = 1024 * 1024
SNIFF_CHARS = 64 * 1024
DELIMITERS = ",;\t|"
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def open_csv(path: Path) -> Sheet:
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as text:
        delimiter = _delimiter(text.read(SNIFF_CHARS))
    header, count = _scanned(path, encoding, delimiter)
    headers = titles(header)
    records = partial(_csv_records, path, encoding, delimiter, len(headers))
    return Sheet("csv", headers, encoding, delimiter, count, filled(records, len(headers)))


def _encoding(path: Path) -> str:
    with path.open("rb") as file:
        start = file.read(4)
        for mark, encoding in BOMS:
            if start.startswith(mark):
                return encoding
        for encoding in ("utf-8", "cp1252"):
            file.seek(0)
            if _decodes(file, encoding):
                return encoding
    return "latin-1"


def _decodes(file: IO[bytes], encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in iter(partial(file.read, CHUNK_BYTES), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(sample: str) -> str:
    sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.partition("\n")[0]
        best = max(DELIMITERS, key=first_line.count)
        return best if best in first_line else ","


def _scanned(path: Path, encoding: str, delimiter: str) -> tuple[list[str] | None, int]:
    """Row 1 and the number of data rows up to the last non-empty one, or a refusal."""
    header, read, last = None, 0, 0
    with path.open(encoding=encoding, newline="") as text:
        try:
            for record in csv.reader(text, delimiter=delimiter):
                read += 1
                if read == 1:
                    header = record
                elif not all(is_blank(cell) for cell in record):
                    last = read - 1
        except csv.Error:
            raise FileRefusedError(
                f'row {read + 1} cannot be read: a value is too long or a quote (") is not '
                f"closed; correct it, or export the file again as CSV, {AGAIN}"
            ) from None
    return header, last


def _csv_records(path: Path, encoding: str, delimiter: str, width: int) -> Iterator[Row]:
    with path.open(encoding=encoding, newline="") as text:
        records = csv.reader(text, delimiter=delimiter)
        next(records, None)
        for line, record in enumerate(records, start=2):
            yield line, fitted([cell or None for cell in record], width)
