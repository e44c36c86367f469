"""Imports (F19): which column goes to which field, and what a cell means for its field.

A file's columns are mapped to fields explicitly; `suggest_mapping` proposes a mapping from
the column titles (French, English and German titles of the built-in fields, and each
field's own name and label). `check_mapping` refuses a mapping that names a column the
file does not have or a field that does not exist, maps one field twice, or leaves out
the uniqueness key: the identifier column is required (seed 003).

Cells come typed from a workbook (numbers, dates, booleans) or as text from a CSV;
`field_reader` turns one into what its field accepts, or says why it cannot, without
quoting the value (reasons go into reports). An empty cell changes nothing: importing a
sparse file never erases what a contact already has.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from enum import StrEnum
from functools import partial
from typing import Any

from domain.fields import FieldCatalogue, FieldDefinition, FieldType, FieldValueError

MAX_COLUMNS = 500


class ImportMode(StrEnum):
    CREATE_AND_UPDATE = "create_and_update"
    UPDATE_ONLY = "update_only"
    CREATE_ONLY = "create_only"


class RowOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


class ImportInputError(ValueError):
    """Raised when an import's mapping or options are not valid (nothing is imported)."""


# Column titles people use for the built-in fields, compared after `_plain`.
TITLES: Mapping[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "mail", "courriel", "adresse e-mail", "adresse email",
              "adresse mail", "email address", "e-mail-adresse"),
    "first_name": ("prénom", "first name", "firstname", "given name", "vorname", "prenom"),
    "last_name": ("nom", "nom de famille", "last name", "lastname", "surname", "family name",
                  "nachname"),
    "title": ("civilité", "titre", "salutation", "anrede", "title"),
    "company": ("société", "entreprise", "organisation", "organization", "company", "firma",
                "raison sociale", "structure"),
    "job_title": ("fonction", "poste", "job title", "position", "intitulé du poste"),
    "phone_mobile": ("portable", "mobile", "téléphone portable", "téléphone", "tel", "tél",
                     "phone", "mobile phone", "handy", "numéro de portable"),
    "language": ("langue", "language", "sprache"),
    "street": ("adresse", "rue", "street", "address", "straße", "strasse"),
    "zip": ("code postal", "cp", "zip", "zip code", "postcode", "postal code", "plz"),
    "city": ("ville", "city", "stadt", "commune"),
}  # fmt: skip
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "oui", "vrai", "x", "ja", "wahr"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "non", "faux", "nein", "falsch"})
DAY_FIRST = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
LIST_SEPARATORS = re.compile(r"[;,|\n]")


def suggest_mapping(headers: Sequence[str], catalogue: FieldCatalogue) -> dict[str, str]:
    """Column title -> field, for the titles that name a field; each field at most once."""
    known: dict[str, str] = {}
    for definition in catalogue.definitions.values():
        names = (definition.name, definition.label, *TITLES.get(definition.name, ()))
        for name in names:
            known.setdefault(_plain(name), definition.name)
    mapping: dict[str, str] = {}
    for header in headers:
        field_name = known.get(_plain(header))
        if header and field_name is not None and field_name not in mapping.values():
            mapping[header] = field_name
    return mapping


def check_mapping(
    mapping: Mapping[str, str | None],
    headers: Sequence[str],
    catalogue: FieldCatalogue,
    key: Sequence[str],
) -> dict[str, str]:
    """The mapping with ignored columns left out, or ImportInputError saying what is wrong."""
    if len(mapping) > MAX_COLUMNS:
        raise ImportInputError(f"a mapping has at most {MAX_COLUMNS} columns")
    used = {column: name for column, name in mapping.items() if name}
    missing = [column for column in used if column not in headers]
    if missing:
        raise ImportInputError(
            f"the file has no column {_quoted(missing)}; its columns are {_quoted(headers)}"
        )
    unknown = sorted({name for name in used.values() if name not in catalogue})
    if unknown:
        raise ImportInputError(
            f"no field named {_quoted(unknown)}: define it first or map the column elsewhere"
        )
    for name in set(used.values()):
        columns = [column for column, field_name in used.items() if field_name == name]
        if len(columns) > 1:
            raise ImportInputError(f"field {name!r} is mapped from {len(columns)} columns: "
                                   f"{_quoted(columns)}; map only one")  # fmt: skip
    unmapped = [name for name in key if name not in used.values()]
    if unmapped:
        raise ImportInputError(
            f"the identifier column is required: map a column to {_quoted(unmapped)} "
            "(the account's uniqueness key)"
        )
    return used


def field_reader(definition: FieldDefinition) -> Callable[[Any], Any]:
    """What the field accepts for a cell, as a function of the cell (None: leave the field
    as it is); it raises FieldValueError naming the field, never quoting the value. An
    import reads the same fields row after row: their conversion and rule are looked up
    once."""
    convert = partial(CONVERTERS.get(definition.type) or _as_text, definition)
    check = definition.validator()

    def read(cell: Any) -> Any:
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            return None
        return check(convert(cell))

    return read


def from_cell(definition: FieldDefinition, cell: Any) -> Any:
    """A cell's value in the field's type (a number, yes/no, a list of choices), not yet
    validated: what a sheet's or a web form's text means for this field."""
    return (CONVERTERS.get(definition.type) or _as_text)(definition, cell)


def _as_text(definition: FieldDefinition, cell: Any) -> str:
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # 75001.0 from a numeric zip column is "75001"
    if isinstance(cell, datetime) and cell.time() == time():
        return cell.date().isoformat()
    if isinstance(cell, date | time | datetime):
        return cell.isoformat()
    return str(cell)


def _as_number(definition: FieldDefinition, cell: Any) -> Any:
    if not isinstance(cell, str):
        return cell
    text = re.sub(r"[\s\u00a0\u202f']", "", cell).replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise FieldValueError(definition.name, "must be a number") from None
    return int(number) if number.is_integer() and "." not in text else number


def _as_boolean(definition: FieldDefinition, cell: Any) -> Any:
    if isinstance(cell, int | float) and not isinstance(cell, bool) and cell in (0, 1):
        return bool(cell)
    if not isinstance(cell, str):
        return cell
    word = cell.strip().casefold()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise FieldValueError(definition.name, "must be yes or no (true/false, oui/non, 1/0)")


def _as_date(definition: FieldDefinition, cell: Any) -> Any:
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, str):
        day_first = DAY_FIRST.match(cell.strip())
        if day_first:
            day, month, year = (int(part) for part in day_first.groups())
            try:
                return date(year, month, day).isoformat()
            except ValueError:
                raise FieldValueError(definition.name, "is not a valid date") from None
        return cell.strip()
    return cell


def _as_datetime(definition: FieldDefinition, cell: Any) -> Any:
    if isinstance(cell, str):
        try:
            cell = datetime.fromisoformat(cell.strip())
        except ValueError:
            raise FieldValueError(definition.name, "must be an ISO 8601 date and time") from None
    if isinstance(cell, datetime):
        # A workbook's times carry no zone: they are read as UTC (docs/api.md, imports).
        return (cell if cell.tzinfo else cell.replace(tzinfo=UTC)).isoformat()
    return cell


def _as_choices(definition: FieldDefinition, cell: Any) -> Any:
    text = _as_text(definition, cell)
    return [part.strip() for part in LIST_SEPARATORS.split(text) if part.strip()]


CONVERTERS: dict[FieldType, Callable[[FieldDefinition, Any], Any]] = {
    FieldType.NUMBER: _as_number,
    FieldType.BOOLEAN: _as_boolean,
    FieldType.DATE: _as_date,
    FieldType.DATETIME: _as_datetime,
    FieldType.MULTIPLE_CHOICE: _as_choices,
}


def _plain(title: str) -> str:
    """A title as compared: no accents, no case, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(repr(name) for name in names)
