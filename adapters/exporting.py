"""Exports of a grid view as CSV or .xlsx, streamed page by page in constant memory."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from adapters.sql.grid_queries import SqlGrid
from domain.accounts import Account
from domain.fields import IDENTITY_FIELDS
from domain.organiser_events import OrganiserEvent
from projections.grid_query import GridQuery

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A leading + or - before digits and phone punctuation only is a number or a phone number,
# which no spreadsheet can run as code: it is written as typed (decision 0039).
NUMBER_LIKE = re.compile(r"[+-][0-9 ().+/-]*")
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]


def contact_columns(
    grid: SqlGrid, account: Account
) -> tuple[list[Column], Callable[[list[Any]], None]]:
    """The export columns of contacts, and a hook that fetches each page's event list."""
    names = grid.event_names(account.id)
    groups = {group_id.hex: name for group_id, name in account.groups.items()}
    events: dict[Any, str] = {}

    def per_page(rows: list[Any]) -> None:
        linked = grid.participations([r.contact_id for r in rows])
        events.clear()
        events.update({c: "; ".join(names.get(e, str(e)) for e, _ in v) for c, v in linked.items()})

    columns = [
        Column("id", lambda r: str(r.contact_id)),
        *_field_columns([*IDENTITY_FIELDS, *account.field_definitions]),
        Column("n_events", lambda r: r.n_events),
        Column("n_communities", lambda r: r.n_communities),
        Column("events", lambda r: events.get(r.contact_id, "")),
        Column("processing_status", lambda r: r.processing_status),
        Column("groups", lambda r: "; ".join(groups.get(g, g) for g in r.groups)),
        Column("consent_at", lambda r: r.consent_at),
        Column("consent_source", lambda r: r.consent_source),
        Column("site_confirmed", lambda r: r.site_confirmed),
        Column("locked_until", lambda r: r.locked_until),
        Column("failed_attempts", lambda r: r.failed_attempts),
        Column("created_at", lambda r: r.created_at),
        Column("updated_at", lambda r: r.updated_at),
    ]
    return columns, per_page


def participant_columns(account: Account, event: OrganiserEvent) -> list[Column]:
    fields = [*IDENTITY_FIELDS, *account.field_definitions, *event.local_fields]
    return [
        Column("id", lambda r: str(r.participant_id)),
        Column("event", lambda r: event.name),
        Column("status", lambda r: r.status),
        Column("source", lambda r: r.source),
        Column("contact_id", lambda r: str(r.contact_id) if r.contact_id else ""),
        *_field_columns(fields),
        Column("created_at", lambda r: r.created_at),
        Column("updated_at", lambda r: r.updated_at),
    ]


def records(
    grid: SqlGrid,
    query: GridQuery,
    columns: list[Column],
    per_page: Callable[[list[Any]], None] | None = None,
) -> Iterator[list[Any]]:
    """Cell values row by row, fetching the rows a page at a time."""
    page: list[Any] = []
    for row in grid.rows(query):
        page.append(row)
        if len(page) == 500:
            yield from _cells(page, columns, per_page)
            page = []
    yield from _cells(page, columns, per_page)


def csv_stream(columns: list[Column], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV with a BOM (Excel opens accents right), in chunks of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_text(v) for v in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def xlsx_stream(columns: list[Column], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """An .xlsx built in write-only mode (rows go to disk as they come), then streamed."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("export")
    sheet.append([c.header for c in columns])
    for row in rows:
        sheet.append([_cell(sheet, v) for v in row])
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook.save(path)
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def _field_columns(names: Iterable[str]) -> list[Column]:
    return [Column(name, _field_value(name)) for name in names]


def _field_value(name: str) -> Callable[[Any], Any]:
    return lambda r: r.fields.get(name)


def _cells(rows: list[Any], columns: list[Column], per_page: Any) -> Iterator[list[Any]]:
    if not rows:
        return
    if per_page is not None:
        per_page(rows)
    for row in rows:
        yield [column.value(row) for column in columns]


def _text(value: Any) -> str:
    """A CSV cell: the value as text, guarded against formula injection."""
    return _neutralised(_plain(value))


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _cell(sheet: Any, value: Any) -> Any:
    """An .xlsx cell, typed: text stays text, never a formula, with no guard to add."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)  # .xlsx has no time zones: UTC, stated in docs
    cell = WriteOnlyCell(sheet, _plain(value))
    cell.data_type = "s"  # openpyxl would make a leading "=" a formula
    return cell


def _neutralised(text: str) -> str:
    """Spreadsheet formula injection: a CSV cell starting with = + - @ tab or CR is a
    formula to a spreadsheet; a quote in front makes it text. Numbers and phone numbers
    (`+33 6 51 81 52 64`, `-12.5`) cannot run anything and are left as typed."""
    if not text.startswith(FORMULA_START) or NUMBER_LIKE.fullmatch(text):
        return text
    return "'" + text
