from __future__ import annotations

import codecs
import io
import sys
import tracemalloc
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import fromstring
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.text import Text
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900 as CALENDAR_1900
from openpyxl.worksheet._reader import WorkSheetParser

from adapters.importing import sheets
from adapters.importing.sheets import (
    FORMULA_WITHOUT_VALUE,
    CellError,
    FileRefusedError,
    Sheet,
    _RowParser,
    _string_text,
    open_sheet,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def handmade_xlsx(
    path: Path, sheet_data: str, strings: Sequence[str] = (), dimension: str | None = None
) -> Path:
    """A minimal workbook written by hand, for what openpyxl does not write: shared strings,
    formulas with a saved result, error cells."""
    size = f'<dimension ref="{dimension}"/>' if dimension else ""
    table = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SPREADSHEET}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{SPREADSHEET}.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{SPREADSHEET}.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
            '<sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{RELS}">'
            f'<Relationship Id="rId1" Type="{DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{DOC_RELS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{MAIN}">{size}<sheetData>{sheet_data}</sheetData></worksheet>'
        ),
        "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}" count="{len(strings)}">{table}</sst>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            archive.writestr(name, xml)
    return path


def saved_workbook(path: Path, rows: Iterable[Sequence[Any]]) -> Path:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


def csv_file(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def all_rows(path: Path, start: int = 0) -> list[tuple[int, tuple[Any, ...]]]:
    with open_sheet(path) as sheet:
        return list(sheet.rows(start))


def opened(path: Path) -> Sheet:
    with open_sheet(path) as sheet:
        return sheet


def refusal(path: Path) -> str:
    with pytest.raises(FileRefusedError) as refused, open_sheet(path):
        pass
    return str(refused.value)


# Refusals


def test_refuses_an_empty_file(tmp_path: Path) -> None:
    assert "the file is empty" in refusal(csv_file(tmp_path / "inscrits.csv", ""))


def test_refuses_a_zip_that_is_not_an_xlsx_workbook(tmp_path: Path) -> None:
    ods = tmp_path / "inscrits.xlsx"
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    assert "only .xlsx and .csv files are accepted" in refusal(ods)


def test_refuses_an_old_excel_file(tmp_path: Path) -> None:
    xls = tmp_path / "inscrits.csv"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    assert "save it as .xlsx" in refusal(xls)


@pytest.mark.parametrize("damage", ["truncated", "corrupted"])
def test_refuses_a_damaged_workbook(tmp_path: Path, damage: str) -> None:
    path = saved_workbook(tmp_path / "inscrits.xlsx", [["Nom"], *[[f"n{i}"] for i in range(500)]])
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        del data[len(data) // 2 :]
    else:
        with zipfile.ZipFile(path) as archive:
            member = archive.getinfo("xl/worksheets/sheet1.xml")
        start = member.header_offset + 30 + len(member.filename) + len(member.extra)
        middle = start + member.compress_size // 2
        data[middle : middle + 8] = bytes(8)
    path.write_bytes(data)
    assert "the file is damaged" in refusal(path)


def test_refuses_a_workbook_with_two_sheets(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.title = "Inscrits"
    workbook.create_sheet("Exposants")
    workbook.save(tmp_path / "salon.xlsx")
    message = refusal(tmp_path / "salon.xlsx")
    assert "2 sheets (Inscrits, Exposants)" in message
    assert "exactly one sheet" in message


def test_counts_hidden_sheets_and_chartsheets_among_the_sheets(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.title = "Inscrits"
    workbook.create_sheet("Exposants").sheet_state = "hidden"
    workbook.create_chartsheet("Graphique")
    workbook.save(tmp_path / "salon.xlsx")
    assert "3 sheets (Inscrits, Exposants, Graphique)" in refusal(tmp_path / "salon.xlsx")


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([], "there are no rows"),
        ([[None, " "], ["Dupont", "Jean"]], "row 1 is empty"),
        ([["Nom", 2024]], "cell B1 holds a number"),
        ([["Nom", datetime(2024, 3, 1)]], "cell B1 holds a date"),
        ([["Nom", True]], "cell B1 holds a yes/no value"),
        ([["Dupont", "jean.dupont@example.org"]], "cell B1 holds an email address"),
    ],
)
def test_refuses_a_workbook_without_a_header_row(
    tmp_path: Path, rows: list[list[Any]], reason: str
) -> None:
    message = refusal(saved_workbook(tmp_path / "inscrits.xlsx", rows))
    assert f"the first row must hold the column titles ({reason}" in message
    assert "jean.dupont" not in message


def test_refuses_a_workbook_whose_first_row_is_missing(tmp_path: Path) -> None:
    data = '<row r="2"><c r="A2" t="inlineStr"><is><t>Nom</t></is></c></row>'
    assert "(row 1 is empty)" in refusal(handmade_xlsx(tmp_path / "inscrits.xlsx", data))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("\nDupont;Jean\n", "row 1 is empty"),
        ("Dupont;jean.dupont@example.org\n", "cell B1 holds an email address"),
    ],
)
def test_refuses_a_csv_without_a_header_row(tmp_path: Path, text: str, reason: str) -> None:
    message = refusal(csv_file(tmp_path / "inscrits.csv", text))
    assert f"the first row must hold the column titles ({reason}" in message
    assert "jean.dupont" not in message


def test_refuses_duplicate_column_titles(tmp_path: Path) -> None:
    rows = [["Email", "Nom", "", "email ", None, "NOM", "Prénom", "Nom"]]
    message = refusal(saved_workbook(tmp_path / "inscrits.xlsx", rows))
    assert "duplicate column titles: 'Email' (columns A and D); 'Nom' (columns B, F and H)" in (
        message
    )


def test_refuses_duplicate_column_titles_in_a_csv(tmp_path: Path) -> None:
    message = refusal(csv_file(tmp_path / "inscrits.csv", "Email;Nom;;EMAIL;\n"))
    assert "duplicate column titles: 'Email' (columns A and D)" in message


def test_refuses_a_csv_the_csv_module_cannot_read(tmp_path: Path) -> None:
    text = 'Nom;Note\nDupont;ok\nMartin;"' + "x" * 200_000 + "\nDurand;ok\n"
    assert "row 3 cannot be read" in refusal(csv_file(tmp_path / "inscrits.csv", text))


# Headers and cells


def test_titles_are_stripped_and_blank_ones_kept(tmp_path: Path) -> None:
    path = saved_workbook(tmp_path / "inscrits.xlsx", [[" Nom ", None, "Prénom\t", " ", None]])
    assert opened(path).headers == ("Nom", "", "Prénom")
    path = csv_file(tmp_path / "inscrits.csv", " Nom ;; Prénom;\n")
    assert opened(path).headers == ("Nom", "", "Prénom")


def test_reads_typed_xlsx_cells(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["Nom", "Âge", "Taille", "Membre", "Inscrit le"],
        ["Zoé Æsir 🎉", 42, 1.75, True, datetime(2024, 3, 1, 9, 30)],
    ]
    sheet_rows = all_rows(saved_workbook(tmp_path / "inscrits.xlsx", rows))
    assert sheet_rows == [(2, ("Zoé Æsir 🎉", 42, 1.75, True, datetime(2024, 3, 1, 9, 30)))]


def test_a_formula_without_a_saved_result_is_marked(tmp_path: Path) -> None:
    path = saved_workbook(tmp_path / "inscrits.xlsx", [["Nom", "Total"], ["Dupont", "=1+1"]])
    assert all_rows(path) == [(2, ("Dupont", FORMULA_WITHOUT_VALUE))]
    assert repr(FORMULA_WITHOUT_VALUE) == "<formula without a cached value>"


def test_a_formula_with_a_saved_result_gives_the_result(tmp_path: Path) -> None:
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Total</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Libellé</t></is></c></row>'
        '<row r="2"><c r="A2"><f>1+1</f><v>2</v></c>'
        '<c r="B2" t="str"><f>""</f><v></v></c></row>'
    )
    assert all_rows(handmade_xlsx(tmp_path / "inscrits.xlsx", data)) == [(2, (2, None))]


def test_error_cells_carry_their_code(tmp_path: Path) -> None:
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Ratio</t></is></c></row>'
        '<row r="2"><c r="A2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
        '<row r="3"><c r="A3" t="e"><v>#REF!</v></c></row>'
    )
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data)
    assert all_rows(path) == [(2, (CellError("#DIV/0!"),)), (3, (CellError("#REF!"),))]


def test_reads_shared_strings(tmp_path: Path) -> None:
    strings = ["Nom", "Ville", "Zoé <&> 🎉", "Paris"]
    data = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>'
        '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3" t="s"><v>3</v></c></row>'
    )
    with open_sheet(handmade_xlsx(tmp_path / "inscrits.xlsx", data, strings)) as sheet:
        assert sheet.headers == ("Nom", "Ville")
        assert list(sheet.rows()) == [(2, ("Zoé <&> 🎉", "Paris")), (3, ("Paris", "Paris"))]


# Rows


def test_rows_missing_from_the_xml_still_count_in_line_numbers(tmp_path: Path) -> None:
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Nom</t></is></c></row>'
        '<row r="4"><c r="A4" t="inlineStr"><is><t>Dupont</t></is></c></row>'
        '<row><c t="inlineStr"><is><t>Martin</t></is></c></row>'
    )
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data)
    assert all_rows(path) == [(2, (None,)), (3, (None,)), (4, ("Dupont",)), (5, ("Martin",))]


def test_empty_rows_in_the_middle_are_yielded_but_not_trailing_ones(tmp_path: Path) -> None:
    workbook = Workbook()
    for row in [["Nom", "Ville"], ["Dupont", "Paris"], [None, "  "], [], ["Martin", None]]:
        workbook.active.append(row)
    workbook.active["A40"].style = "Good"
    workbook.active["B41"] = " "
    workbook.save(tmp_path / "inscrits.xlsx")
    expected = [
        (2, ("Dupont", "Paris")),
        (3, (None, None)),
        (4, (None, None)),
        (5, ("Martin", None)),
    ]
    with open_sheet(tmp_path / "inscrits.xlsx") as sheet:
        assert list(sheet.rows()) == expected
        assert sheet.estimated_rows == 40
    text = "Nom;Ville\nDupont;Paris\n; \n\nMartin;\n;\n\n \n"
    with open_sheet(csv_file(tmp_path / "inscrits.csv", text)) as sheet:
        assert list(sheet.rows()) == expected
        assert sheet.estimated_rows == 4


def test_rows_resume_after_the_rows_already_read(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Nom"], ["Dupont"], [None], ["Martin"], ["Durand"]]
    path = saved_workbook(tmp_path / "inscrits.xlsx", rows)
    assert all_rows(path, start=2) == [(4, ("Martin",)), (5, ("Durand",))]
    assert all_rows(path, start=9) == []
    path = csv_file(tmp_path / "inscrits.csv", "Nom\nDupont\n\nMartin\nDurand\n")
    assert all_rows(path, start=2) == [(4, ("Martin",)), (5, ("Durand",))]


def test_rows_can_be_read_again(tmp_path: Path) -> None:
    path = saved_workbook(tmp_path / "inscrits.xlsx", [["Nom"], ["Dupont"], ["Martin"]])
    with open_sheet(path) as sheet:
        first = next(sheet.rows())
        assert list(sheet.rows()) == [first, (3, ("Martin",))]


def test_rows_are_padded_and_cut_to_the_width_of_the_titles(tmp_path: Path) -> None:
    rows: list[list[Any]] = [
        ["Nom", "Ville"],
        ["Dupont"],
        ["Martin", "Lyon", "en trop"],
        [None, None, "hors"],
    ]
    expected = [(2, ("Dupont", None)), (3, ("Martin", "Lyon"))]
    assert all_rows(saved_workbook(tmp_path / "inscrits.xlsx", rows)) == expected
    text = "Nom,Ville\nDupont\nMartin,Lyon,en trop\n,,hors\n"
    assert all_rows(csv_file(tmp_path / "inscrits.csv", text)) == expected


def test_estimates_rows_from_the_dimension_of_the_sheet(tmp_path: Path) -> None:
    path = saved_workbook(tmp_path / "inscrits.xlsx", [["Nom"], ["Dupont"], ["Martin"]])
    assert opened(path).estimated_rows == 2
    data = '<row r="1"><c r="A1" t="inlineStr"><is><t>Nom</t></is></c></row>'
    assert opened(handmade_xlsx(tmp_path / "sans.xlsx", data)).estimated_rows is None


def test_format_is_decided_by_content_not_by_name(tmp_path: Path) -> None:
    workbook = saved_workbook(tmp_path / "inscrits.csv", [["Nom"], [42]])
    assert (opened(workbook).format, all_rows(workbook)) == ("xlsx", [(2, (42,))])
    text = csv_file(tmp_path / "inscrits.xlsx", "Nom\n42\n")
    assert (opened(text).format, all_rows(text)) == ("csv", [(2, ("42",))])


# CSV


@pytest.mark.parametrize(
    ("bom", "encoding", "detected"),
    [
        (b"", "utf-8", "utf-8"),
        (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
        (b"", "cp1252", "cp1252"),
    ],
)
def test_detects_the_encoding_of_a_csv(
    tmp_path: Path, bom: bytes, encoding: str, detected: str
) -> None:
    path = tmp_path / "inscrits.csv"
    path.write_bytes(bom + "Société;Prénom\nÉvénements Œuvre;Zoé\n".encode(encoding))
    with open_sheet(path) as sheet:
        assert (sheet.encoding, sheet.headers) == (detected, ("Société", "Prénom"))
        assert list(sheet.rows()) == [(2, ("Événements Œuvre", "Zoé"))]


def test_reads_as_latin_1_what_cp1252_cannot_decode(tmp_path: Path) -> None:
    path = tmp_path / "inscrits.csv"
    path.write_bytes(b"Soci\xe9t\xe9;Code\nACME;\x81\x8d\n")
    with open_sheet(path) as sheet:
        assert (sheet.encoding, sheet.headers) == ("latin-1", ("Société", "Code"))
        assert list(sheet.rows()) == [(2, ("ACME", "\x81\x8d"))]


def test_a_late_non_utf8_byte_makes_the_file_cp1252(tmp_path: Path) -> None:
    text = "Nom;Ville\n" + "Dupont;Paris\n" * 200_000 + "Zoé;Sète\n"
    assert opened(csv_file(tmp_path / "inscrits.csv", text, "cp1252")).encoding == "cp1252"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_detects_the_delimiter_of_a_csv(tmp_path: Path, delimiter: str) -> None:
    lines = [["Nom", "Ville", "Note"], ["Dupont", "Paris", '"ok, vu"']]
    path = csv_file(tmp_path / "inscrits.csv", "\n".join(delimiter.join(line) for line in lines))
    with open_sheet(path) as sheet:
        assert (sheet.delimiter, sheet.headers) == (delimiter, ("Nom", "Ville", "Note"))
        assert list(sheet.rows()) == [(2, ("Dupont", "Paris", "ok, vu"))]


def test_a_single_column_csv_reads_with_the_default_delimiter(tmp_path: Path) -> None:
    with open_sheet(csv_file(tmp_path / "inscrits.csv", "Nom\nDupont\n")) as sheet:
        assert (sheet.delimiter, list(sheet.rows())) == (",", [(2, ("Dupont",))])


def test_quoted_csv_fields_keep_their_delimiters_and_newlines(tmp_path: Path) -> None:
    text = 'Nom;Adresse;Note\r\nDupont;"1 rue; Paris\r\n2e étage";"dit ""oui"""\r\nMartin;Lyon;\r\n'
    with open_sheet(csv_file(tmp_path / "inscrits.csv", text)) as sheet:
        assert sheet.estimated_rows == 2
        assert list(sheet.rows()) == [
            (2, ("Dupont", "1 rue; Paris\r\n2e étage", 'dit "oui"')),
            (3, ("Martin", "Lyon", None)),
        ]


def test_csv_cells_are_not_converted(tmp_path: Path) -> None:
    text = "Nom,Âge,Inscrit le\n Dupont ,042,2024-03-01\n"
    assert all_rows(csv_file(tmp_path / "inscrits.csv", text)) == [
        (2, (" Dupont ", "042", "2024-03-01"))
    ]


# Memory


def test_shared_strings_are_not_kept_in_python_memory(tmp_path: Path) -> None:
    strings = [f"participant-{i:06d}-salon-des-exposants-2024"[:40] for i in range(20_000)]
    data = "".join(
        f'<row r="{line}"><c r="A{line}" t="s"><v>{line - 2}</v></c></row>'
        for line in range(2, len(strings) + 2)
    )
    header = '<row r="1"><c r="A1" t="inlineStr"><is><t>Nom</t></is></c></row>'
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", header + data, strings)
    total_bytes = sum(sys.getsizeof(text) for text in strings)
    tracemalloc.start()
    try:
        with open_sheet(path) as sheet:
            count = sum(1 for _ in sheet.rows())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == len(strings)
    # measured: about 0.2 × total_bytes (mostly the offsets); openpyxl's list of strings: 2.1 ×
    assert peak < total_bytes / 3, (peak, total_bytes)


def test_checking_a_file_reads_only_the_shared_strings_its_header_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strings = ["Nom", *(f"participant-{i:06d}" for i in range(20_000))]
    data = "".join(
        f'<row r="{line}"><c r="A{line}" t="s"><v>{line - 1}</v></c></row>'
        for line in range(1, len(strings) + 1)
    )
    read: list[str] = []

    def counted(element: Any) -> str:
        read.append(text := _string_text(element))
        return text

    monkeypatch.setattr(sheets, "_string_text", counted)
    with open_sheet(handmade_xlsx(tmp_path / "inscrits.xlsx", data, strings)) as sheet:
        assert sheet.headers == ("Nom",)
        assert len(read) <= sheets.STRINGS_READ + 1
        assert [cells[0] for _, cells in sheet.rows()] == strings[1:]
    assert read == strings


@given(
    strings=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="_"),
                max_size=9),
        min_size=1, max_size=40,
    ),
    data=st.data(),
)  # fmt: skip
def test_shared_strings_read_ahead_in_chunks_are_each_the_strings_text(
    tmp_path_factory: pytest.TempPathFactory, strings: list[str], data: st.DataObject
) -> None:
    """Asked for in any order (new ones ahead of the chunk in hand, old ones behind it),
    across chunks and read-aheads far smaller than a string."""
    order = data.draw(st.lists(st.integers(0, len(strings) - 1), min_size=1, max_size=60))
    rows = "".join(
        f'<row r="{line}"><c r="A{line}" t="s"><v>{index}</v></c><c r="B{line}"><v>1</v></c>'
        "</row>"  # a number beside it: a row whose string is blank is still a row
        for line, index in enumerate(order, start=2)
    )
    header = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Nom</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>N</t></is></c></row>'
    )
    path = handmade_xlsx(tmp_path_factory.mktemp("chunks") / "x.xlsx", header + rows, strings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sheets, "STRINGS_CHUNK", data.draw(st.integers(1, 16)))
        patch.setattr(sheets, "STRINGS_READ", data.draw(st.integers(1, 4)))
        with open_sheet(path) as sheet:
            assert [cells[0] or "" for _, cells in sheet.rows()] == [strings[i] for i in order]


@pytest.mark.parametrize("damaged", ["strings", "rows"])
def test_damage_found_only_when_the_rows_reach_it_is_said_so(tmp_path: Path, damaged: str) -> None:
    strings = ["Nom", *(f"participant-{i:06d}" for i in range(5_000))]
    data = "".join(
        f'<row r="{line}"><c r="A{line}" t="s"><v>{line - 1}</v></c></row>'
        for line in range(1, len(strings) + 1)
    )
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data, strings)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    part, mark = {
        "strings": ("xl/sharedStrings.xml", b"<si><t>participant-004000"),
        "rows": ("xl/worksheets/sheet1.xml", b'<row r="4000">'),
    }[damaged]
    assert mark in parts[part]
    parts[part] = parts[part].replace(mark, b"<" + mark)  # not XML from there on
    with zipfile.ZipFile(path, "w") as archive:
        for name, xml in parts.items():
            archive.writestr(name, xml)
    with open_sheet(path) as sheet, pytest.raises(FileRefusedError, match="damaged"):
        assert sheet.headers == ("Nom",)
        list(sheet.rows())


@pytest.mark.parametrize("index", ["3", "-1", "-2"])
def test_a_cell_naming_a_shared_string_the_file_lacks_is_damage(tmp_path: Path, index: str) -> None:
    """Not the text of another cell (a negative index would count from the end)."""
    data = "".join(
        f'<row r="{line}"><c r="A{line}" t="s"><v>{value}</v></c></row>'
        for line, value in enumerate(["0", "1", index, "2"], start=1)
    )
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data, ["Nom", "Ada", "Grace"])
    with open_sheet(path) as sheet, pytest.raises(FileRefusedError, match="damaged"):
        list(sheet.rows())


# A shared string as Excel may write it: plain text, rich-text runs, phonetic runs.
XML_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
RUN = st.builds(
    lambda font, text: (
        f"<r>{'<rPr><b/></rPr>' if font else ''}"
        + ("" if text is None else f"<t>{escape(text)}</t>")
        + "</r>"
    ),
    st.booleans(),
    st.none() | XML_TEXT,
)
PHONETIC = XML_TEXT.map(lambda text: f'<rPh sb="0" eb="1"><t>{escape(text)}</t></rPh>')
SHARED_STRING = st.builds(
    lambda plain, runs, phonetics: (
        "<si>"
        + ("" if plain is None else f'<t xml:space="preserve">{escape(plain)}</t>')
        + "".join(runs)
        + "".join(phonetics)
        + "</si>"
    ),
    st.none() | XML_TEXT,
    st.lists(RUN, max_size=3),
    st.lists(PHONETIC, max_size=2),
)


@given(SHARED_STRING)
def test_a_shared_strings_text_is_what_openpyxl_reads(xml: str) -> None:
    element = fromstring(xml.replace("<si>", f'<si xmlns="{MAIN}">', 1))
    assert _string_text(element) == Text.from_tree(element).content


# A worksheet's cells as Excel, LibreOffice or other writers may write them: every type,
# formulas with and without a saved result, coordinates given, missing or out of order.
STRINGS = ("Nom", "Zoé 🎉", "", "  ")
FORMULA = f"{{{MAIN}}}f"
NUMBER = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["1e3", "2.5E-2", "45000", "45000.75", "0.5", "3000000"]),
)
STYLE = st.sampled_from(["", ' s="0"', ' s="1"', ' s="2"', ' s="3"'])  # 1: date, 2: duration
CELL_BODY = st.one_of(
    st.tuples(st.just(""), NUMBER.map(lambda n: f"<v>{n}</v>"), STYLE),
    st.tuples(st.just(' t="n"'), st.just("<v></v>"), STYLE),
    st.tuples(st.just(' t="s"'), st.integers(0, len(STRINGS) - 1).map(lambda i: f"<v>{i}</v>"),
              st.just("")),
    st.tuples(st.just(' t="b"'), st.sampled_from(["<v>0</v>", "<v>1</v>"]), st.just("")),
    st.tuples(st.just(' t="str"'), XML_TEXT.map(lambda t: f"<v>{escape(t)}</v>"), st.just("")),
    st.tuples(st.just(' t="inlineStr"'), SHARED_STRING.map(lambda s: s.replace("si>", "is>")),
              st.just("")),
    st.tuples(st.just(' t="inlineStr"'), st.just(""), st.just("")),
    st.tuples(st.just(' t="e"'), st.sampled_from(["<v>#N/A</v>", "<v>#REF!</v>"]), st.just("")),
    st.tuples(st.just(' t="d"'), st.sampled_from(["<v>2024-03-01T09:30:00</v>",
              "<v>2024-03-01</v>"]), st.just("")),
    st.tuples(st.sampled_from(["", ' t="str"', ' t="e"', ' t="b"', ' t="inlineStr"']),
              st.sampled_from(["<f>1+1</f>", "<f>A1</f><v></v>", "<f>1+1</f><v>2</v>"]),
              st.just("")),
)  # fmt: skip


@st.composite
def sheet_xml(draw: st.DrawFn) -> str:
    rows, line = [], 0
    for _ in range(draw(st.integers(0, 4))):
        line += draw(st.integers(1, 3))
        numbered = draw(st.booleans())
        cells, column = [], 0
        for _ in range(draw(st.integers(0, 5))):
            column += draw(st.integers(1, 3))
            where = f' r="{get_column_letter(column)}{line}"' if draw(st.booleans()) else ""
            kind, body, style = draw(CELL_BODY)
            cells.append(f"<c{where}{kind}{style}>{body}</c>")
        rows.append(
            f"<row{f' r={chr(34)}{line}{chr(34)}' if numbered else ''}>{''.join(cells)}</row>"
        )
    return f'<worksheet xmlns="{MAIN}"><sheetData>{"".join(rows)}</sheetData></worksheet>'


@given(sheet_xml())
def test_cells_are_read_as_openpyxl_reads_them(xml: str) -> None:
    """The row parser gives openpyxl's values, types and positions (but an error's code as a
    CellError and a formula without a saved result as FORMULA_WITHOUT_VALUE)."""
    formats = {"epoch": CALENDAR_1900, "date_formats": {1, 2}, "timedelta_formats": {2}}
    ours = list(_RowParser(STRINGS, **formats).parse(io.BytesIO(xml.encode())))
    theirs = WorkSheetParser(io.BytesIO(xml.encode()), STRINGS, data_only=True, **formats)
    with warnings.catch_warnings():  # openpyxl warns of dates out of range; ours are silent
        warnings.simplefilter("ignore")
        parsed = list(theirs.parse())
    expected = []
    for (line, cells), row in zip(parsed, fromstring(xml)[0], strict=True):
        values = []
        for cell, element in zip(cells, row, strict=True):
            value, kind = cell["value"], cell["data_type"]
            if kind == "e" and value is not None:
                value = CellError(value)
            elif value is None and kind != "str" and element.find(FORMULA) is not None:
                value = FORMULA_WITHOUT_VALUE
            values.append((cell["column"], value))
        expected.append((line, values))
    assert ours == expected
