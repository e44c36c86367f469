"""Read the one sheet of an uploaded .xlsx or .csv file, row by row.

The rules come from Oniva's help page on imports: one sheet only, a header row of distinct
column titles, values rather than formulas. `open_sheet` checks what can be checked up front
and raises `FileRefusedError` (its text is for the user) before any row is read; what only
shows row by row (empty rows, formula cells, error cells) is left to the caller, which
reports it per row. XML damaged past the header row shows only when the rows reach it:
reading them then raises `FileRefusedError`.

The format is decided by content, not by name: a zip must be an xlsx workbook (other zips are
.ods, .docx…), an OLE2 file is an old .xls or a password-protected workbook, and anything else
is read as CSV text.

CSV encoding: a byte-order mark decides (UTF-8 or UTF-16). Otherwise the whole file is
validated as UTF-8 in 1 MiB chunks with an incremental decoder, because a single accented
letter near the end is enough to tell UTF-8 from the cp1252 that French Excel writes. A file
that is not UTF-8 is cp1252, unless it holds a byte cp1252 leaves undefined (0x81, 0x8D,
0x8F, 0x90, 0x9D): then latin-1, which decodes anything. The delimiter is sniffed from the
first 64 KiB. A pre-pass with the csv module counts the rows and finds unreadable ones.

Workbooks are read by openpyxl's public read-only mode (decision 0041): rows stream, but
the shared-string table (the text of every cell Excel saved) is loaded whole when the file
is opened, so memory and the time to open grow with the file (bench/xlsx_reader.py). It is
opened with `data_only=False`, the one public way to see formulas: a formula cell is read
as `FORMULA` whether or not its result was saved.

`line` is the row number Excel shows (header = 1). For CSV it counts records, not physical
lines: a quoted value may span lines.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import partial
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

CHUNK_BYTES = 1024 * 1024
CHECK_BYTES = 64 * 1024
SNIFF_CHARS = 64 * 1024
DELIMITERS = ",;\t|"
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

AGAIN = "and import again"
DAMAGED = f"the file is damaged and cannot be read: open it, save it again {AGAIN}"
NOT_ACCEPTED = (
    "this file is neither an Excel workbook (.xlsx) nor a CSV file, and only .xlsx and .csv "
    f"files are accepted: save it in one of these formats {AGAIN}"
)
OLD_EXCEL = (
    "this is an old Excel file (.xls) or a password-protected workbook: save it as .xlsx "
    f"(without a password) or .csv {AGAIN}"
)

Row = tuple[int, tuple[Any, ...]]


class FileRefusedError(ValueError):
    """Raised when a file cannot be imported at all; str(error) is the user-facing message."""


class _Formula:
    def __repr__(self) -> str:
        return "<formula>"

    def __reduce__(self) -> str:
        return "FORMULA"  # one of them, in every process (see read_ahead.py)


FORMULA: Final = _Formula()


@dataclass(frozen=True)
class CellError:
    """A cell holding an Excel error value."""

    code: str  # such as "#REF!", "#DIV/0!", "#N/A"


@dataclass
class Sheet:
    """The one sheet of a file: its column titles, and its rows to read."""

    format: str
    headers: tuple[str, ...]
    encoding: str | None
    delimiter: str | None
    estimated_rows: int | None
    _rows: Callable[[], Iterator[Row]] = field(repr=False, compare=False)  # gaps filled

    def rows(self, start: int = 0) -> Iterator[Row]:
        """Data rows as (line, cells), skipping the first `start`; trailing empty rows left out."""
        return islice(self._rows(), start, None)


@contextmanager
def open_sheet(path: Path) -> Iterator[Sheet]:
    """The file's one sheet, readable until the context exits; refused files raise first."""
    if _detected_format(path) == "xlsx":
        with _open_xlsx(path) as sheet:
            yield sheet
    else:
        yield _open_csv(path)


def _detected_format(path: Path) -> str:
    """The format, "xlsx" or "csv", told by the first bytes; any other format is refused."""
    with path.open("rb") as file:
        magic = file.read(4)
    if not magic:
        raise FileRefusedError(f"the file is empty: choose the file that holds your table {AGAIN}")
    if magic == b"\xd0\xcf\x11\xe0":
        raise FileRefusedError(OLD_EXCEL)
    if magic != b"PK\x03\x04":
        return "csv"
    try:
        with zipfile.ZipFile(path) as archive:
            if "xl/workbook.xml" not in archive.namelist():
                raise FileRefusedError(NOT_ACCEPTED)
            _check_members(archive)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise FileRefusedError(DAMAGED) from None
    return "xlsx"


def _check_members(archive: zipfile.ZipFile) -> None:
    """ZipFile.testzip(), reading 64 KiB at a time instead of 1 MiB: a damaged member raises."""
    for member in archive.infolist():
        with archive.open(member) as data:
            while data.read(CHECK_BYTES):
                pass


def _titles(cells: Sequence[Any] | None) -> tuple[str, ...]:
    """Row 1 as column titles, or a refusal saying why it is not a header row."""
    if cells is None:
        raise _no_header("there are no rows")
    width = max((n for n, cell in enumerate(cells, 1) if not _is_blank(cell)), default=0)
    if not width:
        raise _no_header("row 1 is empty")
    for column, cell in enumerate(cells[:width], 1):
        name = f"cell {get_column_letter(column)}1"
        if cell is not None and not isinstance(cell, str):
            raise _no_header(f"{name} holds {_kind(cell)}, not a title")
        if cell and "@" in cell:
            raise _no_header(f"{name} holds an email address, not a title")
    titles = tuple((cell or "").strip() for cell in cells[:width])
    _refuse_duplicates(titles)
    return titles


def _no_header(reason: str) -> FileRefusedError:
    return FileRefusedError(
        f"the first row must hold the column titles ({reason}): put the titles in row 1 {AGAIN}"
    )


_KINDS = (
    (bool, "a yes/no value"),
    ((int, float), "a number"),
    ((date, time, timedelta), "a date or a time"),
    (CellError, "an error value"),
    (_Formula, "a formula"),
)


def _kind(value: Any) -> str:
    return next((kind for types, kind in _KINDS if isinstance(value, types)), "a non-text value")


def _refuse_duplicates(titles: tuple[str, ...]) -> None:
    columns: dict[str, list[int]] = {}
    for column, title in enumerate(titles, 1):
        if title:
            columns.setdefault(title.casefold(), []).append(column)
    clashes = [
        f"'{titles[found[0] - 1]}' (columns {_listed([get_column_letter(c) for c in found])})"
        for found in columns.values()
        if len(found) > 1
    ]
    if clashes:
        raise FileRefusedError(
            f"duplicate column titles: {'; '.join(clashes)}; give each column its own title {AGAIN}"
        )


def _listed(words: list[str]) -> str:
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _is_blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _fitted(cells: Sequence[Any], width: int) -> tuple[Any, ...]:
    return tuple(cells[:width]) + (None,) * (width - len(cells))


def _gaps_filled(records: Callable[[], Iterator[Row]], width: int) -> Iterator[Row]:
    """Every line after the header, empty ones as Nones, up to the last non-empty one."""
    blank = (None,) * width
    last = 1
    for line, cells in records():
        if not all(_is_blank(cell) for cell in cells):
            yield from ((gap, blank) for gap in range(last + 1, line))
            yield line, cells
            last = line


def _filled(records: Callable[[], Iterator[Row]], width: int) -> Callable[[], Iterator[Row]]:
    return partial(_gaps_filled, records, width)


# CSV


def _open_csv(path: Path) -> Sheet:
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as text:
        delimiter = _delimiter(text.read(SNIFF_CHARS))
    header, count = _scanned(path, encoding, delimiter)
    headers = _titles(header)
    records = partial(_csv_records, path, encoding, delimiter, len(headers))
    return Sheet("csv", headers, encoding, delimiter, count, _filled(records, len(headers)))


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
                elif not all(_is_blank(cell) for cell in record):
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
            yield line, _fitted([cell or None for cell in record], width)


# XLSX

# openpyxl's exceptions for XML or parts it cannot read; OSError without an errno as well
_UNREADABLE = (InvalidFileException, KeyError, TypeError, ValueError, IndexError, SyntaxError)


@contextmanager
def _open_xlsx(path: Path) -> Iterator[Sheet]:
    # opened here: given a path, openpyxl would refuse a name not ending in .xlsx
    with path.open("rb") as file, closing(_workbook(file)) as workbook:
        worksheet = _only_worksheet(workbook)
        rows = None if worksheet.max_row is None else max(worksheet.max_row - 1, 0)
        # read every row the file holds: a <dimension> smaller than the sheet (some writers
        # save one) would end the rows there, one larger would pad them
        worksheet.reset_dimensions()
        headers = _titles(_header(worksheet))
        records = partial(_xlsx_records, worksheet, len(headers))
        yield Sheet("xlsx", headers, None, None, rows, _filled(records, len(headers)))


def _workbook(file: IO[bytes]) -> Workbook:
    with _damage_refused():
        try:
            return load_workbook(file, read_only=True, data_only=False, keep_links=False)
        except AttributeError as error:  # such as a chartsheet without a chart
            raise FileRefusedError(DAMAGED) from error


@contextmanager
def _damage_refused() -> Iterator[None]:
    try:
        yield
    except OSError as error:
        if error.errno is not None:  # the disk's fault, not the file's
            raise
        raise FileRefusedError(DAMAGED) from error
    except _UNREADABLE as error:
        raise FileRefusedError(DAMAGED) from error


def _only_worksheet(workbook: Workbook) -> ReadOnlyWorksheet:
    names = workbook.sheetnames  # chartsheets and hidden sheets too
    if len(names) > 1:
        raise FileRefusedError(
            f"the workbook has {len(names)} sheets ({', '.join(names)}); an import takes exactly "
            f"one sheet: keep one {AGAIN}"
        )
    if not workbook.worksheets:
        raise FileRefusedError(f"the workbook has no sheet of rows: put your table in one {AGAIN}")
    return workbook.worksheets[0]


def _header(worksheet: ReadOnlyWorksheet) -> tuple[Any, ...] | None:
    """Row 1's values, or None if the sheet has no rows (openpyxl gives a missing row 1
    as an empty one)."""
    with _damage_refused(), closing(_cell_rows(worksheet)) as rows:
        return next(rows, None)


def _xlsx_records(worksheet: ReadOnlyWorksheet, width: int) -> Iterator[Row]:
    with _damage_refused():  # damage only the rows reach
        rows = enumerate(_cell_rows(worksheet), start=1)
        next(rows, None)
        for line, cells in rows:
            yield line, _fitted(cells, width)


def _cell_rows(worksheet: ReadOnlyWorksheet) -> Iterator[tuple[Any, ...]]:
    """Each row's values, missing rows as empty ones: row n is the n-th."""
    for cells in worksheet.iter_rows():
        yield tuple(map(_value, cells))


def _value(cell: Any) -> Any:
    if cell.data_type == "f":
        return FORMULA
    if cell.data_type == "e" and cell.value is not None:
        return CellError(cell.value)
    return cell.value
