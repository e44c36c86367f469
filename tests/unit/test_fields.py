from __future__ import annotations

import pytest

from domain.fields import (
    IDENTITY_FIELDS,
    FieldCatalogue,
    FieldDefinition,
    FieldDefinitionError,
    FieldType,
    FieldValueError,
    UnknownFieldError,
)


def definition(kind: FieldType, options: tuple[str, ...] = ()) -> FieldDefinition:
    return FieldDefinition("answer", kind, "Answer", options)


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        (FieldType.TEXT, "Acme", "Acme"),
        (FieldType.LONG_TEXT, "a\nb", "a\nb"),
        (FieldType.NUMBER, 3, 3),
        (FieldType.NUMBER, 2.5, 2.5),
        (FieldType.BOOLEAN, False, False),
        (FieldType.DATE, "2025-03-11", "2025-03-11"),
        (FieldType.DATETIME, "2025-03-11T09:30:00+01:00", "2025-03-11T09:30:00+01:00"),
        (FieldType.EMAIL, " ada@example.org ", "ada@example.org"),
        (FieldType.PHONE, "+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        (FieldType.URL, "https://example.org/x", "https://example.org/x"),
    ],
)
def test_accepts_a_valid_value_of_each_type(kind: FieldType, value: object, stored: object) -> None:
    assert definition(kind).validate(value) == stored


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        (FieldType.TEXT, 3, "must be a string"),
        (FieldType.TEXT, "x" * 1001, "longer than 1000"),
        (FieldType.NUMBER, "3", "must be a number"),
        (FieldType.NUMBER, True, "must be a number"),
        (FieldType.NUMBER, float("nan"), "finite"),
        (FieldType.BOOLEAN, "yes", "true or false"),
        (FieldType.DATE, "11/03/2025", "YYYY-MM-DD"),
        (FieldType.DATETIME, "2025-03-11T09:30:00", "time zone"),
        (FieldType.EMAIL, "ada.example.org", "not an email"),
        (FieldType.EMAIL, "ada@example", "not an email"),
        (FieldType.PHONE, "call me", "not a phone"),
        (FieldType.URL, "ftp://example.org", "http(s) URL"),
    ],
)
def test_refuses_a_value_of_the_wrong_type(kind: FieldType, value: object, reason: str) -> None:
    with pytest.raises(FieldValueError, match="answer") as error:
        definition(kind).validate(value)
    assert reason in error.value.reason


def test_choice_fields_accept_only_their_options() -> None:
    single = definition(FieldType.SINGLE_CHOICE, ("vegan", "none"))
    multiple = definition(FieldType.MULTIPLE_CHOICE, ("fr", "en", "de"))
    assert single.validate("vegan") == "vegan"
    assert multiple.validate(["de", "fr", "de"]) == ["fr", "de"]
    with pytest.raises(FieldValueError, match="is not one of the options: vegan, none"):
        single.validate("keto")
    with pytest.raises(FieldValueError, match="list of options"):
        multiple.validate("fr")


def test_none_clears_a_field_of_any_type() -> None:
    assert definition(FieldType.EMAIL).validate(None) is None


@pytest.mark.parametrize(
    ("name", "kind", "options"),
    [
        ("Bad Name", FieldType.TEXT, ()),
        ("ok", FieldType.SINGLE_CHOICE, ()),
        ("ok", FieldType.TEXT, ("a",)),
        ("ok", FieldType.SINGLE_CHOICE, ("a", "a")),
    ],
)
def test_refuses_an_invalid_definition(
    name: str, kind: FieldType, options: tuple[str, ...]
) -> None:
    with pytest.raises(FieldDefinitionError):
        FieldDefinition(name, kind, "Label", options)


def test_a_catalogue_refuses_unknown_fields_and_names_them() -> None:
    catalogue = FieldCatalogue(IDENTITY_FIELDS)
    with pytest.raises(UnknownFieldError, match="'shoe_size'"):
        catalogue.validate({"email": "ada@example.org", "shoe_size": 42})


def test_definitions_round_trip_through_their_stored_form() -> None:
    original = FieldDefinition("diet", FieldType.SINGLE_CHOICE, "Diet", ("a", "b"), "food", "?")
    assert FieldDefinition.from_dict(original.as_dict()) == original
