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

CSV files are read by `csv_sheet.py`; `table.py` holds what both formats share (the
header rules, the rows' shape).

Workbooks are read by openpyxl's public read-only mode (decision 0041): rows stream, but
the shared-string table (the text of every cell Excel saved) is loaded whole when the file
is opened, so memory and the time to open grow with the file (bench/xlsx_reader.py). It is
opened with `data_only=False`, the one public way to see formulas: a formula cell is read
as `FORMULA` whether or not its result was saved.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook import Workbook

from adapters.importing.csv_sheet import open_csv
from adapters.importing.table import (
    AGAIN,
    FORMULA,
    CellError,
    FileRefusedError,
    Row,
    Sheet,
    filled,
    fitted,
    titles,
)

__all__ = ["FORMULA", "CellError", "FileRefusedError", "Row", "Sheet", "open_sheet"]

CHECK_BYTES = 64 * 1024
# openpyxl holds a workbook's shared strings (its text cells) in memory, about 5 times
# their XML for contact data: above this the import would pass its 300 MB (decision 0054)
SHARED_STRINGS_LIMIT = 24 * 1024 * 1024
DAMAGED = f"the file is damaged and cannot be read: open it, save it again {AGAIN}"
NOT_ACCEPTED = (
    "this file is neither an Excel workbook (.xlsx) nor a CSV file, and only .xlsx and .csv "
    f"files are accepted: save it in one of these formats {AGAIN}"
)
TOO_MUCH_TEXT = (
    "this workbook holds more text than an .xlsx import can read at once: save it as .csv "
    f"(UTF-8), which is read line by line, or split it into smaller workbooks {AGAIN}"
)
OLD_EXCEL = (
    "this is an old Excel file (.xls) or a password-protected workbook: save it as .xlsx "
    f"(without a password) or .csv {AGAIN}"
)


@contextmanager
def open_sheet(path: Path) -> Iterator[Sheet]:
    """The file's one sheet, readable until the context exits; refused files raise first."""
    if _detected_format(path) == "xlsx":
        with _open_xlsx(path) as sheet:
            yield sheet
    else:
        yield open_csv(path)


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
            if _shared_strings_size(archive) > SHARED_STRINGS_LIMIT:
                raise FileRefusedError(TOO_MUCH_TEXT)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
        raise FileRefusedError(DAMAGED) from None
    return "xlsx"


def _shared_strings_size(archive: zipfile.ZipFile) -> int:
    """The inflated size of the workbook's shared-strings part(s), as the archive says."""
    return sum(
        member.file_size
        for member in archive.infolist()
        if member.filename.lower().endswith("sharedstrings.xml")
    )


def _check_members(archive: zipfile.ZipFile) -> None:
    """ZipFile.testzip(), reading 64 KiB at a time instead of 1 MiB: a damaged member raises."""
    for member in archive.infolist():
        with archive.open(member) as data:
            while data.read(CHECK_BYTES):
                pass


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
        headers = titles(_header(worksheet))
        records = partial(_xlsx_records, worksheet, len(headers))
        yield Sheet("xlsx", headers, None, None, rows, filled(records, len(headers)))


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


def _only_worksheet(workbook: Workbook) -> Any:
    names = workbook.sheetnames  # chartsheets and hidden sheets too
    if len(names) > 1:
        raise FileRefusedError(
            f"the workbook has {len(names)} sheets ({', '.join(names)}); an import takes exactly "
            f"one sheet: keep one {AGAIN}"
        )
    if not workbook.worksheets:
        raise FileRefusedError(f"the workbook has no sheet of rows: put your table in one {AGAIN}")
    return workbook.worksheets[0]


def _header(worksheet: Any) -> tuple[Any, ...] | None:
    """Row 1's values, or None if the sheet has no rows (openpyxl gives a missing row 1
    as an empty one)."""
    with _damage_refused(), closing(_cell_rows(worksheet)) as rows:
        return next(rows, None)


def _xlsx_records(worksheet: Any, width: int) -> Iterator[Row]:
    with _damage_refused():  # damage only the rows reach
        rows = enumerate(_cell_rows(worksheet), start=1)
        next(rows, None)
        for line, cells in rows:
            yield line, fitted(cells, width)


def _cell_rows(worksheet: Any) -> Generator[tuple[Any, ...]]:
    """Each row's values, missing rows as empty ones: row n is the n-th."""
    for cells in worksheet.iter_rows():
        yield tuple(map(_value, cells))


def _value(cell: Any) -> Any:
    if cell.data_type == "f":
        return FORMULA
    if cell.data_type == "e" and cell.value is not None:
        return CellError(cell.value)
    return cell.value
