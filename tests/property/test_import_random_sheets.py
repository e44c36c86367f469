"""Random sheets through the whole import (F19): nothing crashes, every row is accounted for.

Workbooks and CSV files with random titles, blank and whitespace cells, numbers, dates,
booleans, unicode text, formulas without a saved result, valid and invalid emails drawn
from a small pool (so rows repeat people) are imported into an event with a number, a
date and a choice field. Either the file is refused up front (and nothing is written) or
the import ends `done` with created + updated + unchanged + skipped = data rows (rows up
to the last one holding anything). Importing the same file again creates and updates
nothing and records no event.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from adapters.importing.job import ImportRequest
from adapters.importing.sheets import FileRefusedError
from app import ContactLedgerSystem, build_system
from domain.imports import ImportInputError
from domain.meta import Meta
from domain.unit_of_work import NotFoundError
from tests.conftest import _require
from tests.support.backends import backend_settings
from tests.support.sheets import csv_bytes, synced_event, xlsx_bytes

META = Meta("tester", "admin", "http", "property")
NOW = datetime(2025, 3, 1, tzinfo=UTC)
TEXT = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cs", "Co", "Cn"), blacklist_characters="\ufffe\uffff"
    ),
    max_size=12,
)
EMAILS = st.sampled_from(
    ["ada@example.org", "ADA@example.org ", "grace@example.org", "zoé@exemple.fr", "nope", "a@b"]
)
CELL = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "\t"]),
    TEXT,
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(date(1950, 1, 1), date(2030, 12, 31)),
    st.sampled_from(["=1+1", "=A2", "=NOW()"]),
    st.sampled_from(["oui", "non", "12", "3,5", "01/02/2024", "2024-02-30", "vegan"]),
)
FIELDS = ["email", "first_name", "company", "badge", "born", "diet"]


@st.composite
def sheets(draw: st.DrawFn) -> tuple[list[str], list[list[Any]]]:
    extra = draw(st.lists(TEXT, max_size=3))
    titles = ["E-mail", "Prénom", "Société", "Badge", "Né le", "Régime", *extra]
    rows = draw(
        st.lists(
            st.lists(CELL, min_size=len(titles), max_size=len(titles)).flatmap(
                lambda cells: st.tuples(EMAILS | CELL, st.just(cells[1:]))
            ),
            max_size=25,
        )
    )
    return titles, [[email, *rest] for email, rest in rows]


def is_empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def data_rows(rows: list[list[Any]]) -> int:
    filled = [i for i, row in enumerate(rows) if not all(is_empty(c) for c in row)]
    return filled[-1] + 1 if filled else 0


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def system(request: pytest.FixtureRequest) -> Iterator[ContactLedgerSystem]:
    _require(request.param)
    with (
        tempfile.TemporaryDirectory() as folder,
        backend_settings(request.param, Path(folder)) as config,
    ):
        built = build_system(config, clock=lambda: NOW)
        yield built
        built.close()


def an_event(system: ContactLedgerSystem) -> tuple[UUID, UUID]:
    fields = [
        ("badge", "number", ()),
        ("born", "date", ()),
        ("diet", "single_choice", ("vegan", "none")),
    ]
    return synced_event(system.ledger, NOW, META, fields)


def run_import(
    system: ContactLedgerSystem, account_id: UUID, request: ImportRequest, path: Path
) -> dict[str, int] | None:
    importer = system.runtime.importer
    try:
        job_id = importer.submit(account_id, request, path, META, NOW)
    except (FileRefusedError, ImportInputError, NotFoundError) as error:
        event(f"refused: {str(error)[:30]}")
        return None
    event("imported")
    job = system.runtime.jobs.claim_queued(account_id, job_id, NOW)
    assert job is not None
    system.jobs.run(job)
    done = system.runtime.jobs.get(account_id, job_id)
    assert (done.status, done.error) == ("done", None)
    return {**importer.store.counts(job_id), "processed": done.processed, "total": done.total or 0}


@settings(max_examples=40)
@given(sheet=sheets(), as_csv=st.booleans())
def test_every_row_of_a_random_sheet_is_accounted_for(
    system: ContactLedgerSystem, sheet: tuple[list[str], list[list[Any]]], as_csv: bool
) -> None:
    titles, rows = sheet
    account_id, event_id = an_event(system)
    mapping = dict(zip(titles, FIELDS, strict=False))
    if as_csv:
        text = [[("" if c is None else str(c)) for c in row] for row in [titles, *rows]]
        content = csv_bytes(text, delimiter=";")
    else:
        content = xlsx_bytes([titles, *rows])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("sheet.csv" if as_csv else "sheet.xlsx")
        path.write_bytes(content)
        request = ImportRequest(event_id, dict(mapping))
        head = system.ledger.recorder.max_notification_id()
        first = run_import(system, account_id, request, path)
        if first is None:  # refused whole: nothing was written
            assert system.ledger.recorder.max_notification_id() == head
            return
        expected = data_rows(rows) if not as_csv else data_rows(text[1:])
        outcomes = first["created"] + first["updated"] + first["unchanged"] + first["skipped"]
        assert outcomes == first["processed"] == first["total"] == expected
        head = system.ledger.recorder.max_notification_id()
        again = run_import(system, account_id, request, path)
        assert again is not None
        assert (again["created"], again["updated"]) == (0, 0)
        assert again["unchanged"] + again["skipped"] == expected
        assert system.ledger.recorder.max_notification_id() == head
