from __future__ import annotations

import codecs
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.chart import BarChart

from adapters.importing import sheets
from adapters.importing.sheets import FORMULA, CellError, FileRefusedError, Sheet, open_sheet

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


def test_refuses_a_workbook_whose_text_would_not_fit_the_imports_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strings = ["Nom", *(f"person number {i}" for i in range(500))]
    cells = (f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(501))
    data = "".join(cells)
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data, strings)
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo("xl/sharedStrings.xml").file_size
    monkeypatch.setattr(sheets, "SHARED_STRINGS_LIMIT", size)
    with open_sheet(path) as sheet:  # at the limit: read
        assert len(list(sheet.rows())) == 500
    monkeypatch.setattr(sheets, "SHARED_STRINGS_LIMIT", size - 1)
    assert "save it as .csv (UTF-8), which is read line by line" in refusal(path)


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
    workbook.create_chartsheet("Graphique").add_chart(BarChart())  # as Excel saves one
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
    assert all_rows(path) == [(2, ("Dupont", FORMULA))]
    assert repr(FORMULA) == "<formula>"


def test_a_formula_with_a_saved_result_is_marked_too(tmp_path: Path) -> None:
    """Values, not formulas (the import rules): a formula's saved result is not imported."""
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Total</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Libellé</t></is></c></row>'
        '<row r="2"><c r="A2"><f>1+1</f><v>2</v></c>'
        '<c r="B2" t="str"><f>""</f><v></v></c></row>'
    )
    assert all_rows(handmade_xlsx(tmp_path / "inscrits.xlsx", data)) == [(2, (FORMULA, FORMULA))]


def test_error_cells_carry_their_code(tmp_path: Path) -> None:
    data = (
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Ratio</t></is></c></row>'
        '<row r="2"><c r="A2" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
        '<row r="3"><c r="A3" t="e"><v>#REF!</v></c></row>'
        '<row r="4"><c r="A4" t="str"><v>#N/A</v></c></row>'
    )
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data)
    assert all_rows(path) == [(2, (FORMULA,)), (3, (CellError("#REF!"),)), (4, ("#N/A",))]


def test_a_number_marked_as_a_date_beyond_the_dates_is_an_error_cell(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["Né le"])
    workbook.active.append([date(2024, 3, 1)])
    workbook.save(tmp_path / "inscrits.xlsx")
    with zipfile.ZipFile(tmp_path / "inscrits.xlsx") as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<v>45352</v>", b"<v>1e20</v>")
    with zipfile.ZipFile(tmp_path / "inscrits.xlsx", "w") as archive:
        for name, xml in parts.items():
            archive.writestr(name, xml)
    assert all_rows(tmp_path / "inscrits.xlsx") == [(2, (CellError("#VALUE!"),))]


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


@pytest.mark.parametrize("dimension", ["A1:A2", "A1:B9"])
def test_a_wrong_dimension_neither_cuts_nor_pads_the_rows(tmp_path: Path, dimension: str) -> None:
    """Some writers save a <dimension> that is not the sheet's: rows past it still count."""
    data = "".join(
        f'<row r="{line}"><c r="A{line}" t="inlineStr"><is><t>{text}</t></is></c></row>'
        for line, text in enumerate(["Nom", "Dupont", "Martin", "Durand"], start=1)
    )
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data, dimension=dimension)
    assert all_rows(path) == [(2, ("Dupont",)), (3, ("Martin",)), (4, ("Durand",))]


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


# Damage


@pytest.mark.parametrize("damaged", ["strings", "rows"])
def test_damage_found_in_the_xml_is_said_so(tmp_path: Path, damaged: str) -> None:
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
    with pytest.raises(FileRefusedError, match="damaged"), open_sheet(path) as sheet:
        list(sheet.rows())  # strings are read when the file is opened, rows as they are read


@pytest.mark.parametrize("index", ["3", "x"])
def test_a_cell_naming_a_shared_string_the_file_lacks_is_damage(tmp_path: Path, index: str) -> None:
    data = "".join(
        f'<row r="{line}"><c r="A{line}" t="s"><v>{value}</v></c></row>'
        for line, value in enumerate(["0", "1", index, "2"], start=1)
    )
    path = handmade_xlsx(tmp_path / "inscrits.xlsx", data, ["Nom", "Ada", "Grace"])
    with open_sheet(path) as sheet, pytest.raises(FileRefusedError, match="damaged"):
        list(sheet.rows())


# Any sheet a spreadsheet writes reads back as it was written.
CELL = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "=1+1", "=A1&B1"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8).filter(
        lambda text: not text.startswith("=")  # written as a formula
    ),
    st.integers(-(10**12), 10**12),
    st.integers(-(10**9), 10**9).map(lambda n: n / 64),  # openpyxl writes 15 digits or so
    st.booleans(),
    st.datetimes(datetime(1900, 3, 1), datetime(2100, 1, 1)).map(
        lambda moment: moment.replace(microsecond=0)  # a serial day keeps whole seconds
    ),
    st.times().map(lambda moment: moment.replace(microsecond=0)),
)


def read_back(cell: Any) -> Any:
    if cell == "":
        return None  # an empty text is not written
    if isinstance(cell, str) and cell.startswith("="):
        return FORMULA
    return cell


def blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


@settings(max_examples=60)
@given(rows=st.lists(st.lists(CELL, max_size=4), max_size=8))
def test_a_written_sheet_reads_back_cell_for_cell(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[Any]]
) -> None:
    path = saved_workbook(tmp_path_factory.mktemp("sheet") / "x.xlsx", [["A", "B", "C"], *rows])
    fitted = [tuple(read_back(cell) for cell in [*row, None, None, None][:3]) for row in rows]
    filled = [line for line, cells in enumerate(fitted, start=2) if not all(map(blank, cells))]
    fitted = [(None,) * 3 if all(map(blank, cells)) else cells for cells in fitted]
    expected = list(enumerate(fitted, start=2))[: (filled[-1] - 1) if filled else 0]
    with open_sheet(path) as sheet:
        assert (sheet.headers, list(sheet.rows())) == (("A", "B", "C"), expected)
