"""Files to import, built in memory (workbooks with openpyxl, CSV as bytes), and an event
to import them into."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import openpyxl

from domain import commands
from domain.application import ContactLedger
from domain.meta import Meta

Rows = Sequence[Sequence[Any]]


def xlsx_bytes(*sheets: Rows, titles: Sequence[str] = ()) -> bytes:
    """A workbook with one sheet per `sheets` (rows of cells; "=..." is a formula)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for index, rows in enumerate(sheets):
        title = titles[index] if index < len(titles) else f"Sheet{index + 1}"
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Rows, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def synced_event(
    ledger: ContactLedger,
    at: datetime,
    meta: Meta,
    fields: Sequence[tuple[str, str, tuple[str, ...]]] = (),
) -> tuple[UUID, UUID]:
    """A new account (with these fields: name, type, options) and an event synced to it."""
    account_id = ledger.open_account("Organiser", at, meta).id
    for name, kind, options in fields:
        ledger.define_field(commands.DefineField(account_id, name, kind, name, options), at, meta)
    cmd = commands.CreateOrganiserEvent(account_id, "Salon", "event")
    event_id = ledger.create_organiser_event(cmd, at, meta).id
    ledger.change_sync(commands.ChangeSync(account_id, event_id, True), at, meta)
    return account_id, event_id
