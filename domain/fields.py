"""Field definitions (F2): types, built-in identity fields and value validation."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from typing import Any
from urllib.parse import urlsplit


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"


CHOICE_TYPES = frozenset({FieldType.SINGLE_CHOICE, FieldType.MULTIPLE_CHOICE})
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
PHONE = re.compile(r"^\+?[0-9 ().\-/]{6,30}$")
MAX_TEXT = 1_000
MAX_NUMBER = 2**53  # exact in JSON and in a double
MAX_LONG_TEXT = 100_000


class FieldValueError(ValueError):
    """Raised when a value does not fit its field: names the field and the reason.

    The reason never quotes the value, so it can go into reports and logs (no personal data).
    """

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"field {field_name!r}: {reason}")
        self.field_name = field_name
        self.reason = reason


class UnknownFieldError(FieldValueError):
    """Raised when a value names a field that is not defined where it is used."""

    def __init__(self, field_name: str) -> None:
        super().__init__(field_name, "no such field")


class FieldDefinitionError(ValueError):
    """Raised when a field definition itself is invalid (name, type, options)."""


@dataclass(frozen=True)
class FieldDefinition:
    name: str
    type: FieldType
    label: str
    options: tuple[str, ...] = ()
    group: str | None = None
    help: str | None = None

    def __post_init__(self) -> None:
        if not FIELD_NAME.match(self.name):
            raise FieldDefinitionError(
                f"field name {self.name!r} must be lower-case letters, digits and _, "
                "starting with a letter (at most 63 characters)"
            )
        if (self.type in CHOICE_TYPES) != bool(self.options):
            raise FieldDefinitionError(
                f"field {self.name!r}: options are required for choice fields and only for them"
            )
        if len(set(self.options)) != len(self.options):
            raise FieldDefinitionError(f"field {self.name!r}: options must be distinct")

    def validate(self, value: Any) -> Any:
        """The value as stored, or FieldValueError. None clears the field."""
        if value is None:
            return None
        return _VALIDATORS[self.type](self, value)

    def validator(self) -> Callable[[Any], Any]:
        """`validate` for values that are not None, its rule looked up once (to check
        many values of this field)."""
        return partial(_VALIDATORS[self.type], self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "label": self.label,
            "options": list(self.options),
            "group": self.group,
            "help": self.help,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldDefinition:
        return cls(
            name=data["name"],
            type=FieldType(data["type"]),
            label=data["label"],
            options=tuple(data.get("options") or ()),
            group=data.get("group"),
            help=data.get("help"),
        )


def _text(limit: int) -> Any:
    def check(definition: FieldDefinition, value: Any) -> str:
        text = _string(definition, value)
        if len(text) > limit:
            raise FieldValueError(definition.name, f"is longer than {limit} characters")
        return text

    return check


def _number(definition: FieldDefinition, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldValueError(definition.name, "must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldValueError(definition.name, "must be a finite number")
    if abs(value) > MAX_NUMBER:
        raise FieldValueError(definition.name, f"must be between -{MAX_NUMBER} and {MAX_NUMBER}")
    return value


def _boolean(definition: FieldDefinition, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldValueError(definition.name, "must be true or false")
    return value


def _date(definition: FieldDefinition, value: Any) -> str:
    try:
        return date.fromisoformat(_string(definition, value)).isoformat()
    except ValueError:
        raise FieldValueError(definition.name, "must be a date as YYYY-MM-DD") from None


def _datetime(definition: FieldDefinition, value: Any) -> str:
    try:
        parsed = datetime.fromisoformat(_string(definition, value))
    except ValueError:
        raise FieldValueError(definition.name, "must be an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise FieldValueError(definition.name, "must include a time zone offset")
    return parsed.isoformat()


def _email(definition: FieldDefinition, value: Any) -> str:
    text = _string(definition, value).strip()
    if len(text) > 254 or not EMAIL.match(text):
        raise FieldValueError(definition.name, "is not an email address")
    return text


def _phone(definition: FieldDefinition, value: Any) -> str:
    text = _string(definition, value).strip()
    digits = sum(ch.isdigit() for ch in text)
    if not PHONE.match(text) or not 6 <= digits <= 20:
        raise FieldValueError(definition.name, "is not a phone number")
    return text


def _url(definition: FieldDefinition, value: Any) -> str:
    text = _string(definition, value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 2_000:
        raise FieldValueError(definition.name, "must be an http(s) URL")
    return text


def _single_choice(definition: FieldDefinition, value: Any) -> str:
    text = _string(definition, value)
    if text not in definition.options:
        raise FieldValueError(
            definition.name, f"is not one of the options: {', '.join(definition.options)}"
        )
    return text


def _multiple_choice(definition: FieldDefinition, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise FieldValueError(definition.name, "must be a list of options")
    chosen = [_single_choice(definition, item) for item in value]
    return sorted(set(chosen), key=definition.options.index)


def _string(definition: FieldDefinition, value: Any) -> str:
    if not isinstance(value, str):
        raise FieldValueError(definition.name, "must be a string")
    if "\x00" in value:
        raise FieldValueError(definition.name, "must not contain NUL characters")
    return value


_VALIDATORS: dict[FieldType, Any] = {
    FieldType.TEXT: _text(MAX_TEXT),
    FieldType.LONG_TEXT: _text(MAX_LONG_TEXT),
    FieldType.NUMBER: _number,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.EMAIL: _email,
    FieldType.PHONE: _phone,
    FieldType.URL: _url,
    FieldType.SINGLE_CHOICE: _single_choice,
    FieldType.MULTIPLE_CHOICE: _multiple_choice,
}


def _identity(name: str, label: str, kind: FieldType = FieldType.TEXT) -> FieldDefinition:
    return FieldDefinition(name=name, type=kind, label=label, group="identity")


IDENTITY_FIELDS: Mapping[str, FieldDefinition] = {
    definition.name: definition
    for definition in (
        _identity("email", "Email", FieldType.EMAIL),
        _identity("first_name", "First name"),
        _identity("last_name", "Last name"),
        _identity("title", "Title"),
        _identity("company", "Company"),
        _identity("job_title", "Job title"),
        _identity("phone_mobile", "Mobile phone", FieldType.PHONE),
        _identity("language", "Language"),
        _identity("street", "Street"),
        _identity("zip", "Postcode"),
        _identity("city", "City"),
    )
}


@dataclass(frozen=True)
class FieldCatalogue:
    """The fields usable in one place: identity fields plus defined ones."""

    definitions: Mapping[str, FieldDefinition] = field(default_factory=dict)

    def __contains__(self, name: object) -> bool:
        return name in self.definitions

    def validate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every value validated, or the first FieldValueError in name order."""
        checked = {}
        for name in sorted(values):
            definition = self.definitions.get(name)
            if definition is None:
                raise UnknownFieldError(name)
            checked[name] = definition.validate(values[name])
        return checked

    def extended(self, extra: Mapping[str, FieldDefinition]) -> FieldCatalogue:
        return FieldCatalogue({**self.definitions, **extra})
