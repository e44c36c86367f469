"""A sheet as the import reads it, whatever its format: column titles and rows of cells.

The header rules are the import's (Oniva's help page): row 1 holds the titles, distinct
without case and surrounding spaces; a file that breaks them is refused whole with a
message for the user. Rows are read as (line, cells): `line` is the row number a
spreadsheet shows (header = 1), cells are cut or padded to the titles, empty rows in the
middle are kept (the import reports them) and empty rows at the end are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from functools import partial
from itertools import islice
from typing import Any, Final

from openpyxl.utils import get_column_letter

AGAIN = "and import again"

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


def titles(cells: Sequence[Any] | None) -> tuple[str, ...]:
    """Row 1 as column titles, or a refusal saying why it is not a header row."""
    if cells is None:
        raise _no_header("there are no rows")
    width = max((n for n, cell in enumerate(cells, 1) if not is_blank(cell)), default=0)
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


def is_blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def fitted(cells: Sequence[Any], width: int) -> tuple[Any, ...]:
    return tuple(cells[:width]) + (None,) * (width - len(cells))


def _gaps_filled(records: Callable[[], Iterator[Row]], width: int) -> Iterator[Row]:
    """Every line after the header, empty ones as Nones, up to the last non-empty one."""
    blank = (None,) * width
    last = 1
    for line, cells in records():
        if not all(is_blank(cell) for cell in cells):
            yield from ((gap, blank) for gap in range(last + 1, line))
            yield line, cells
            last = line


def filled(records: Callable[[], Iterator[Row]], width: int) -> Callable[[], Iterator[Row]]:
    return partial(_gaps_filled, records, width)
