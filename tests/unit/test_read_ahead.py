"""A sheet read ahead by another process reads as the sheet read in the caller's process."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.importing import child
from adapters.importing.read_ahead import open_sheet_ahead, open_sheet_for
from adapters.importing.sheets import FORMULA, CellError, FileRefusedError, open_sheet
from tests.support.sheets import csv_bytes, xlsx_bytes
from tests.unit.test_sheets import handmade_xlsx

PEOPLE = 1_234  # several chunks, the last one short


def described(sheet: Any) -> tuple[Any, ...]:
    return sheet.format, sheet.headers, sheet.encoding, sheet.delimiter, sheet.estimated_rows


def read_both(path: Path, start: int = 0) -> tuple[Any, Any]:
    with open_sheet(path) as sheet:
        here = described(sheet), list(sheet.rows(start))
    with open_sheet_ahead(path) as sheet:
        ahead = described(sheet), list(sheet.rows(start))
    return here, ahead


def test_a_workbook_reads_the_same_ahead_gaps_types_and_all(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["E-mail", "Nom", "Arrivée", "Places"]]
    for i in range(PEOPLE):
        rows.append([f"p{i}@example.org", f"Zoé {i} 🎉", datetime(2026, 5, 1 + i % 28), i])
        if i % 100 == 7:
            rows.append([None, "  ", None, None])  # an empty row inside
    rows += [[None, None, None, None]] * 3  # trailing empty rows: not rows
    path = tmp_path / "inscrits.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    here, ahead = read_both(path)
    assert ahead == here
    assert len(ahead[1]) == PEOPLE + 13
    later_here, later_ahead = read_both(path, start=1_000)  # a job resumed after 1,000 rows
    assert later_ahead == later_here == (here[0], here[1][1_000:])


def test_formulas_and_error_cells_cross_the_process(tmp_path: Path) -> None:
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Ratio</t></is></c></row>'
        '<row r="2"><c r="A2"><f>1/0</f></c></row>'
        '<row r="3"><c r="A3" t="e"><v>#DIV/0!</v></c></row>'
        '<row r="5"><c r="A5"><v>42</v></c></row>'
    )
    here, ahead = read_both(handmade_xlsx(tmp_path / "inscrits.xlsx", data))
    assert ahead == here
    assert ahead[1][0] == (2, (FORMULA,))
    assert ahead[1][0][1][0] is FORMULA  # the one marker, not a copy
    assert ahead[1][1] == (3, (CellError("#DIV/0!"),))


def test_a_csv_reads_the_same_ahead(tmp_path: Path) -> None:
    rows = [["Courriel", "Société"]] + [[f"p{i}@example.org", f"Café {i}"] for i in range(PEOPLE)]
    path = tmp_path / "inscrits.csv"
    path.write_bytes(csv_bytes(rows, delimiter=";", encoding="cp1252"))
    here, ahead = read_both(path)
    assert ahead == here
    assert ahead[0] == ("csv", ("Courriel", "Société"), "cp1252", ";", PEOPLE)


@pytest.mark.parametrize("content", [xlsx_bytes([["Nom"]], [["Nom"]]), b"PK\x03\x04damaged"])
def test_a_refused_file_is_refused_in_the_caller_with_the_same_words(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "inscrits.xlsx"
    path.write_bytes(content)
    with pytest.raises(FileRefusedError) as here, open_sheet(path):
        pass
    with pytest.raises(FileRefusedError) as ahead, open_sheet_ahead(path):
        pass
    assert str(ahead.value) == str(here.value)


def children(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    started: list[subprocess.Popen[bytes]] = []
    popen = subprocess.Popen

    def spawn(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(child.subprocess, "Popen", spawn)
    return started


def test_a_reader_left_half_way_ends_with_the_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [["Nom"]] + [[f"Personne {i}"] for i in range(20_000)]  # more than a pipe holds
    path = tmp_path / "inscrits.xlsx"
    path.write_bytes(xlsx_bytes(rows))
    started = children(monkeypatch)
    with open_sheet_ahead(path) as sheet:
        reading = sheet.rows()
        assert next(reading) == (2, ("Personne 0",))
        assert started[0].poll() is None  # still there, waiting for us to read on
    assert started[0].returncode is not None


def test_rows_read_ahead_are_read_once(tmp_path: Path) -> None:
    path = tmp_path / "inscrits.csv"
    path.write_bytes(csv_bytes([["Nom"], ["Dupont"]]))
    with open_sheet_ahead(path) as sheet:
        assert list(sheet.rows()) == [(2, ("Dupont",))]
        with pytest.raises(RuntimeError, match="only once"):
            sheet.rows()


def test_only_large_files_are_read_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "inscrits.csv"
    path.write_bytes(csv_bytes([["Nom"], ["Dupont"]]))
    started = children(monkeypatch)
    with open_sheet_for(path) as sheet:
        assert list(sheet.rows()) == [(2, ("Dupont",))]
    assert started == []
    monkeypatch.setattr(child, "HELPED_BYTES", path.stat().st_size)
    with open_sheet_for(path) as sheet:
        assert list(sheet.rows()) == [(2, ("Dupont",))]
    assert len(started) == 1
