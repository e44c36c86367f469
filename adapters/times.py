"""The one rule for times people give: query parameters, bodies and CLI options alike.

ISO 8601 dates and date-times, fractions of a second allowed, UTC when no offset is given
(a bare date is 00:00 UTC that day); Python's own `isoformat()` always reads back. The
standard library's parser does the reading (docs/decisions/0044-one-time-format.md).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import click
from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

RULE = "ISO 8601 date or date-time, fractions allowed; UTC when no offset (a date: 00:00 UTC)"
EXAMPLES = ["2026-12-24", "2026-12-24T13:46:01Z", "2026-12-24T14:46:01.093512+01:00"]


class TimeFormatError(ValueError):
    """Raised when a text names no instant by the rule."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 40 else text[:40] + "…"
        super().__init__(
            f"{shown!r} is not an ISO 8601 date or time (e.g. {', '.join(EXAMPLES)}; "
            "UTC when no offset)"
        )


def parse_time(text: str) -> datetime:
    """The instant `text` names, in UTC."""
    try:
        value = datetime.fromisoformat(text.strip().upper())  # RFC 3339 allows "t" and "z"
        return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    except (ValueError, OverflowError):  # overflow: year 1 or 9999 moved out by its offset
        raise TimeFormatError(text) from None


def parse_day(text: str) -> date:
    """A whole UTC day: a date, or a time at 00:00 UTC (for what counts by the day)."""
    instant = parse_time(text)
    if instant.time() != time():
        raise ValueError(f"{text!r} is not a whole day: give a date such as 2026-12-24")
    return instant.date()


def _validated(parse: Any) -> Any:
    def validate(value: object) -> Any:
        if not isinstance(value, str):
            raise PydanticCustomError("iso_time", "must be a string: {rule}", {"rule": RULE})
        try:
            return parse(value)
        except ValueError as error:
            raise PydanticCustomError("iso_time", "{reason}", {"reason": str(error)}) from None

    return validate


Instant = Annotated[
    datetime,
    PlainValidator(_validated(parse_time)),
    WithJsonSchema({"type": "string", "description": RULE, "examples": EXAMPLES}),
]
Day = Annotated[
    date,
    PlainValidator(_validated(parse_day)),
    WithJsonSchema(
        {"type": "string", "description": "a date (whole UTC days)", "examples": ["2026-12-24"]}
    ),
]


class Time(click.ParamType[datetime, Any]):
    """A CLI option's time, by the same rule."""

    name = "TIME"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(value)
        except TimeFormatError as error:
            self.fail(str(error), param, ctx)
