"""The one rule for times people give (query parameters, bodies, CLI options): ISO 8601
dates and date-times, fractions allowed, UTC when no zone, a bare date at 00:00 UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.times import TimeFormatError, parse_time

TIMESPECS = ("auto", "hours", "minutes", "seconds", "milliseconds", "microseconds")
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


def _truncated(moment: datetime, timespec: str) -> datetime:
    """What `isoformat(timespec=…)` keeps of a time."""
    if timespec == "hours":
        return moment.replace(minute=0, second=0, microsecond=0)
    if timespec == "minutes":
        return moment.replace(second=0, microsecond=0)
    if timespec == "seconds":
        return moment.replace(microsecond=0)
    if timespec == "milliseconds":
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return moment


@given(moments, offsets, st.sampled_from(TIMESPECS))
def test_a_time_with_an_offset_is_that_instant_in_utc(
    moment: datetime, offset: timezone, timespec: str
) -> None:
    given_ = moment.replace(tzinfo=offset)
    parsed = parse_time(given_.isoformat(timespec=timespec))
    assert parsed == _truncated(given_, timespec) and parsed.tzinfo is UTC


@given(moments, st.sampled_from(TIMESPECS), st.sampled_from(("T", " ")), st.booleans())
def test_a_time_without_an_offset_is_utc(
    moment: datetime, timespec: str, separator: str, zulu: bool
) -> None:
    text = moment.isoformat(sep=separator, timespec=timespec) + ("Z" if zulu else "")
    assert parse_time(text) == _truncated(moment, timespec).replace(tzinfo=UTC)


@given(st.dates())
def test_a_date_is_midnight_utc_that_day(day: date) -> None:
    assert parse_time(day.isoformat()) == datetime(day.year, day.month, day.day, tzinfo=UTC)


@given(st.text(max_size=40) | st.from_regex(r"\A[0-9T:.,+Z -]{4,32}\Z"))
def test_any_text_is_an_instant_in_utc_or_refused_readably(text: str) -> None:
    try:
        parsed = parse_time(text)
    except TimeFormatError as error:
        assert "ISO 8601" in str(error) and "\n" not in str(error)
    else:
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2026-12-24T24:00", "1735689600"],
)
def test_what_names_no_instant_is_refused(text: str) -> None:
    with pytest.raises(TimeFormatError):
        parse_time(text)
