"""Editing an organiser event (decision 0055): given an event, when its details change,
then one `DetailsChanged` holding only what differs, or nothing, or an error."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.meta import Meta
from domain.organiser_events import OrganiserEvent, OrganiserEventError

AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LATER = AT + timedelta(hours=1)
META = Meta("tester", "admin", "api", "c-1")


def salon(**given: Any) -> OrganiserEvent:
    event = OrganiserEvent.create(
        uuid4(), "Salon 2026", "event", date(2026, 5, 4), AT, META, **given
    )
    event.collect_events()
    return event


def changes(event: OrganiserEvent) -> list[dict[str, Any]]:
    recorded = event.collect_events()
    assert all(isinstance(e, OrganiserEvent.DetailsChanged) for e in recorded)
    return [e.changes for e in recorded]  # type: ignore[attr-defined]


def test_records_only_the_attributes_that_change() -> None:
    event = salon()
    event.change_details(LATER, META, name=" Salon 2026 ", starts_on=date(2026, 6, 1))
    assert changes(event) == [{"starts_on": "2026-06-01"}]  # the name, trimmed, is the same
    assert event.starts_on == date(2026, 6, 1)
    assert event.name == "Salon 2026"


def test_a_typo_fixed_and_a_series_set() -> None:
    event = salon()
    event.change_details(LATER, META, name="Salon Expo 2026", series="  Salon   Expo ")
    assert changes(event) == [{"name": "Salon Expo 2026", "series": "Salon Expo"}]
    assert (event.name, event.series) == ("Salon Expo 2026", "Salon Expo")


def test_a_series_cleared_is_the_name_without_its_years_again() -> None:
    event = salon(series="Fair")
    event.change_details(LATER, META, series=None)
    assert changes(event) == [{"series": None}]
    assert event.series == "Salon"


def test_a_start_date_cleared_and_several_bookings_allowed() -> None:
    event = salon()
    event.change_details(LATER, META, starts_on=None, several_bookings=True)
    assert changes(event) == [{"starts_on": None, "several_bookings": True}]
    assert event.starts_on is None
    assert event.several_bookings


def test_a_change_that_changes_nothing_records_nothing() -> None:
    event = salon(series="Salon", several_bookings=True)
    event.change_details(
        LATER, META, name="Salon 2026", starts_on=date(2026, 5, 4), series="Salon",
        several_bookings=True,
    )  # fmt: skip
    event.change_details(LATER, META)
    assert changes(event) == []
    assert event.version == 1


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"name": "  "}, "an event name"),
        ({"name": "x" * 201}, "an event name"),
        ({"series": ""}, "a series name"),
        ({"series": "s" * 201}, "a series name"),
    ],
)
def test_refuses_what_create_refuses(given: dict[str, Any], message: str) -> None:
    event = salon()
    with pytest.raises(OrganiserEventError, match=message):
        event.change_details(LATER, META, **given)
    assert changes(event) == []
    with pytest.raises(OrganiserEventError, match=message):
        OrganiserEvent.create(
            uuid4(), given.get("name", "Salon"), "event", None, AT, META, given.get("series")
        )


def test_replay_folds_every_change_in_order() -> None:
    event = OrganiserEvent.create(uuid4(), "Salon 2025", "community", None, AT, META)
    event.change_details(LATER, META, name="Salon 2026", starts_on=date(2026, 5, 4))
    event.change_details(LATER, META, series="Salon", several_bookings=True)
    event.change_details(LATER, META, starts_on=None)
    replayed = None
    for recorded in event.collect_events():
        replayed = recorded.mutate(replayed)
    assert isinstance(replayed, OrganiserEvent)
    assert replayed.details() == event.details() == {
        "name": "Salon 2026", "starts_on": None, "series": "Salon", "several_bookings": True,
    }  # fmt: skip
    assert replayed.kind == event.kind == "community"
    assert replayed.version == event.version == 4
