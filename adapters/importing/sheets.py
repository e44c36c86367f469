"""Read the one sheet of an uploaded .xlsx or .csv file, row by row, in bounded memory.

The rules come from Oniva's help page on imports: one sheet only, a header row of distinct
column titles, formulas saved as values. `open_sheet` checks what can be checked up front and
raises `FileRefusedError` (its text is for the user) before any row is read; what only shows
row by row (empty rows, formulas whose result was never saved, error cells) is left to the
caller, which reports it per row. XML damaged past the header row shows only when the rows
reach it: reading them then raises `FileRefusedError`.

The format is decided by content, not by name: a zip must be an xlsx workbook (other zips are
.ods, .docx…), an OLE2 file is an old .xls or a password-protected workbook, and anything else
is read as CSV text.

CSV encoding: a byte-order mark decides (UTF-8 or UTF-16). Otherwise the whole file is
validated as UTF-8 in 1 MiB chunks with an incremental decoder, because a single accented
letter near the end is enough to tell UTF-8 from the cp1252 that French Excel writes. A file
that is not UTF-8 is cp1252, unless it holds a byte cp1252 leaves undefined (0x81, 0x8D,
0x8F, 0x90, 0x9D): then latin-1, which decodes anything. The delimiter is sniffed from the
first 64 KiB. A pre-pass with the csv module counts the rows and finds unreadable ones.

Memory: openpyxl's read-only mode still loads the shared-string table (every text cell of a
file Excel saved) into a list; its parsers keep in the tree every element they have read, and
they read a whole sheet up front to size it when it has no <dimension>. Here the strings are
read only as far as the rows ask (checking a file reads those of its header) and spilled to
a temporary file read back by offset, each XML element is dropped once read, a sheet is
only read up to its rows, and trailing empty rows are only counted. Cells are read by a
parser of ours that gives what openpyxl's WorkSheetParser gives (a property test holds it
to that) in half the time. This relies on openpyxl internals (ExcelReader,
ReadOnlyWorksheet): fine with the pinned 3.1.5.

`line` is the row number Excel shows (header = 1). For CSV it counts records, not physical
lines: a quoted value may span lines.
"""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import partial
from itertools import islice
from pathlib import Path
from typing import IO, Any, Final, Protocol, cast
from xml.etree.ElementTree import Element, XMLPullParser

from openpyxl.chartsheet import Chartsheet
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils import coordinate_to_tuple, get_column_letter, range_boundaries
from openpyxl.utils.datetime import from_excel, from_ISO8601
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import (
    DATA_TAG,
    DIMENSION_TAG,
    FORMULA_TAG,
    INLINE_STRING,
    ROW_TAG,
    VALUE_TAG,
)
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

CHUNK_BYTES = 1024 * 1024
CHECK_BYTES = 64 * 1024
READ_BYTES = 4 * 1024
DIGITS = "0123456789"
STRINGS_READ = 1024  # shared strings read ahead at a time
STRINGS_CHUNK = 64 * 1024  # bytes of spilled strings read at a time
SNIFF_CHARS = 64 * 1024
DELIMITERS = ",;\t|"
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"
PLAIN_TAG = f"{{{SHEET_MAIN_NS}}}t"
RUN_TAG = f"{{{SHEET_MAIN_NS}}}r"

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
ParsedRow = tuple[int, list[tuple[int, Any]]]  # row number, (column, value) of each cell


class FileRefusedError(ValueError):
    """Raised when a file cannot be imported at all; str(error) is the user-facing message."""


class _NoCachedValue:
    def __repr__(self) -> str:
        return "<formula without a cached value>"

    def __reduce__(self) -> str:
        return "FORMULA_WITHOUT_VALUE"  # one of them, in every process (see read_ahead.py)


FORMULA_WITHOUT_VALUE: Final = _NoCachedValue()


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
    (_NoCachedValue, "a formula whose result was not saved"),
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


@contextmanager
def _open_xlsx(path: Path) -> Iterator[Sheet]:
    with ExitStack() as stack:
        strings = _SpilledStrings(stack.enter_context(tempfile.TemporaryFile()))
        reader = _SpillingExcelReader(stack.enter_context(path.open("rb")), strings)
        stack.callback(reader.archive.close)
        stack.callback(strings.close)
        _read(reader)
        worksheet = _only_worksheet(reader)
        headers = _titles(_header_cells(worksheet))
        rows = None if worksheet.max_row is None else max(worksheet.max_row - 1, 0)
        records = partial(_xlsx_records, worksheet, len(headers))
        yield Sheet("xlsx", headers, None, None, rows, _filled(records, len(headers)))


class _SpilledStrings:
    """The shared-string table in a temporary file; only the offsets stay in memory.

    The table is read as far as the rows ask: Excel numbers the strings in the order it
    first meets them, so the header row needs only the first few, and checking a file
    before it is imported does not read (nor spill) the text of every cell."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._offsets = array("Q", [0])
        self._source: IO[bytes] | None = None
        self._unread: Iterator[Element] = iter(())
        # Rows mostly ask for strings in the order Excel numbered them: the text ahead is
        # read a chunk at a time (a string asked for again, behind it, on its own).
        self._ahead = b""
        self._ahead_at = 0  # where `_ahead` starts in the file

    def load(self, source: IO[bytes]) -> None:
        """Read the table from `source` when asked; `close` closes it."""
        self._source = source
        self._unread = _read_elements(source, depth=1)

    def __getitem__(self, index: int) -> str:
        """The text of string `index`; IndexError if the table has none of that number."""
        offsets = self._offsets
        if index < 0:
            raise IndexError(f"no shared string {index}")
        if index + 1 >= len(offsets):
            self._read_to(index)
        start, end = offsets[index], offsets[index + 1]
        at = self._ahead_at
        if at <= start and end <= at + len(self._ahead):
            return self._ahead[start - at : end - at].decode()
        if start < at:
            return os.pread(self._file.fileno(), end - start, start).decode()
        self._ahead = os.pread(self._file.fileno(), max(STRINGS_CHUNK, end - start), start)
        self._ahead_at = start
        return self._ahead[: end - start].decode()

    def close(self) -> None:
        if self._source is not None:
            self._source.close()

    def _read_to(self, index: int) -> None:
        """Read on past `index`, by at least `STRINGS_READ` strings (fewer, smaller writes)."""
        offsets, write = self._offsets, self._file.write
        stop = index + STRINGS_READ
        for element in self._unread:
            if element.tag == STRING_TAG:
                # the same unescaping as openpyxl's read_string_table
                data = _string_text(element).replace("x005F_", "").encode()
                write(data)
                offsets.append(offsets[-1] + len(data))
                if len(offsets) > stop:
                    break
        self._file.flush()


def _string_text(element: Element) -> str:
    """What openpyxl's `Text.from_tree(element).content` gives, without building its
    objects (five times faster): the plain text, then each rich-text run's, no phonetics."""
    plain, runs = None, []
    for child in element:
        if child.tag == PLAIN_TAG:
            plain = child.text
        elif child.tag == RUN_TAG:
            text = child.find(PLAIN_TAG)
            if text is not None and text.text is not None:
                runs.append(text.text)
    return "".join(runs) if plain is None else plain + "".join(runs)


class _SpillingExcelReader(ExcelReader):  # type: ignore[misc]
    def __init__(self, source: IO[bytes], strings: _SpilledStrings) -> None:
        super().__init__(source, read_only=True, data_only=True, keep_links=False)
        self.shared_strings = strings

    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            self.shared_strings.load(self.archive.open(part.PartName[1:]))

    def read_worksheets(self) -> None:
        for sheet, rel in self.parser.find_sheets():
            if rel.target not in self.valid_files:
                continue
            if "chartsheet" in rel.Type:
                self.wb._sheets.append(Chartsheet(parent=self.wb, title=sheet.name))
            else:
                worksheet = _Worksheet(self.wb, sheet.name, rel.target, self.shared_strings)
                self.wb._sheets.append(worksheet)


class _Worksheet(ReadOnlyWorksheet):  # type: ignore[misc]
    def _get_size(self) -> None:
        # openpyxl's reads on through every row when there is no <dimension> (as in the files
        # openpyxl writes), keeping each row element in memory
        with self._get_source() as source:
            for element in _read_elements(source, depth=2):
                if element.tag == DIMENSION_TAG:
                    size = range_boundaries(element.get("ref"))
                    self._min_column, self._min_row, self._max_column, self._max_row = size
                if element.tag in (DIMENSION_TAG, ROW_TAG, DATA_TAG):
                    return


def _read(reader: ExcelReader) -> None:
    try:
        reader.read()
    except OSError as error:
        if error.errno is not None:  # the disk's fault, not the file's
            raise
        raise FileRefusedError(DAMAGED) from error
    except (ValueError, KeyError, TypeError, SyntaxError) as error:
        raise FileRefusedError(DAMAGED) from error


def _only_worksheet(reader: ExcelReader) -> ReadOnlyWorksheet:
    names = [sheet.name for sheet in reader.parser.sheets]
    if len(names) > 1:
        raise FileRefusedError(
            f"the workbook has {len(names)} sheets ({', '.join(names)}); an import takes exactly "
            f"one sheet: keep one {AGAIN}"
        )
    if not reader.wb.worksheets:
        raise FileRefusedError(f"the workbook has no sheet of rows: put your table in one {AGAIN}")
    return reader.wb.worksheets[0]


def _header_cells(worksheet: ReadOnlyWorksheet) -> tuple[Any, ...] | None:
    try:
        with closing(_parsed_rows(worksheet)) as parsed:
            line, cells = next(parsed, (None, []))
    except (ValueError, IndexError, SyntaxError) as error:
        raise FileRefusedError(DAMAGED) from error
    if line is None:
        return None
    if line > 1:
        return ()
    return _positioned(cells, max((column for column, _ in cells), default=0))


def _xlsx_records(worksheet: ReadOnlyWorksheet, width: int) -> Iterator[Row]:
    try:
        for line, cells in _parsed_rows(worksheet):
            if line > 1:
                yield line, _positioned(cells, width)
    except (ValueError, IndexError, SyntaxError) as error:  # damage only the rows reach
        raise FileRefusedError(DAMAGED) from error


def _positioned(cells: list[tuple[int, Any]], width: int) -> tuple[Any, ...]:
    values = [None] * width
    for column, value in cells:
        if column <= width:
            values[column - 1] = value
    return tuple(values)


def _parsed_rows(worksheet: ReadOnlyWorksheet) -> Generator[ParsedRow, None, None]:
    workbook = worksheet.parent
    with worksheet._get_source() as source:
        parser = _RowParser(
            worksheet._shared_strings,
            workbook.epoch,
            workbook._date_formats,
            workbook._timedelta_formats,
        )
        yield from parser.parse(source)


class _Strings(Protocol):
    """A shared-string table: the text of a cell by its index (`_SpilledStrings`)."""

    def __getitem__(self, index: int, /) -> str: ...


class _RowParser:
    """The cells of each row as openpyxl's `WorkSheetParser.parse_row` reads them with
    `data_only` (the same values, of the same types), and moreover formulas without a saved
    result and error cells told from values. Without its dict per cell and its parse of
    every cell's coordinate, it reads a row in less than half the time."""

    def __init__(
        self,
        strings: _Strings,
        epoch: Any,
        date_formats: set[int],
        timedelta_formats: set[int],
    ) -> None:
        self.strings, self.epoch = strings, epoch
        self.date_formats, self.timedelta_formats = date_formats, timedelta_formats
        self.columns: dict[str, int] = {}  # a coordinate's letters -> its column number

    def parse(self, source: IO[bytes]) -> Iterator[ParsedRow]:
        line = 0
        for element in _read_elements(source, depth=2):
            if element.tag == ROW_TAG:
                line = _row_number(element.get("r"), line)
                yield line, self.cells(element)

    def cells(self, row: Element) -> list[tuple[int, Any]]:
        cells, column = [], 0
        for element in row:
            coordinate = element.get("r")
            column = self.column(coordinate) if coordinate else column + 1
            cells.append((column, self.value(element)))
        return cells

    def column(self, coordinate: str) -> int:
        letters = coordinate.rstrip(DIGITS)
        column = self.columns.get(letters)
        if column is None or letters == coordinate:  # new letters, or no row number
            column = self.columns[letters] = coordinate_to_tuple(coordinate)[1]  # or raises
        return column

    def value(self, element: Element) -> Any:
        data_type = element.get("t", "n")
        if data_type == "inlineStr":
            text = element.find(INLINE_STRING)
            value = None if text is None else _string_text(text)
        else:
            value = element.findtext(VALUE_TAG) or None
            if value is not None:
                return self.typed(element, data_type, value)
        if value is None and data_type != "str" and element.find(FORMULA_TAG) is not None:
            # an empty <v/> is no saved result, except under t="str" (a saved empty text)
            return FORMULA_WITHOUT_VALUE
        return value

    def typed(self, element: Element, data_type: str, value: str) -> Any:
        if data_type == "s":
            return self.strings[int(value)]
        if data_type == "n":
            return self.number(element.get("s"), value)
        convert = SAVED_TYPES.get(data_type)
        return value if convert is None else convert(value)  # "str", or a type unknown

    def number(self, style: str | None, value: str) -> Any:
        number = float(value) if "." in value or "E" in value or "e" in value else int(value)
        if not style or int(style) not in self.date_formats:
            return number
        try:
            return from_excel(number, self.epoch, int(style) in self.timedelta_formats)
        except (OverflowError, ValueError):  # marked as a date, beyond the dates
            return CellError("#VALUE!")


SAVED_TYPES: dict[str, Callable[[str], Any]] = {
    "b": lambda value: bool(int(value)),
    "d": from_ISO8601,
    "e": CellError,
}


def _row_number(number: str | None, previous: int) -> int:
    """A row's number as openpyxl reads it: its `r`, or the one after the previous row."""
    if number is None:
        return previous + 1
    try:
        return int(number)
    except ValueError:
        if not float(number).is_integer():
            raise ValueError(f"{number} is not a valid row number") from None
        return int(float(number))


def _read_elements(source: IO[bytes], depth: int) -> Iterator[Element]:
    """The elements at most `depth` deep (the root is 0 deep) as they end; each is then
    dropped from the tree, which ElementTree otherwise keeps whole until the end of the file.
    Not iterparse: one left unfinished keeps its parsed elements until the garbage collector
    breaks its reference cycle."""
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    read_events = cast(Callable[[], Iterator[tuple[str, Element]]], parser.read_events)
    open_elements: list[Element] = []
    while True:
        chunk = source.read(READ_BYTES)
        if chunk:
            parser.feed(chunk)
        else:
            parser.close()
        for event, element in read_events():
            if event == "start":
                open_elements.append(element)
                continue
            open_elements.pop()
            if len(open_elements) <= depth:
                yield element
                if open_elements:
                    open_elements[-1].remove(element)
        if not chunk:
            return
