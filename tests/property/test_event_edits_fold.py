"""Editing an event (decision 0055): for any sequence of edits, the event read back is the
fold of every accepted edit applied in order (a refused one changes nothing, one changing
nothing records nothing), replaying its events gives it again, and the reports' fact of
the event is the one its final state implies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from domain.meta import Meta
from domain.organiser_events import OrganiserEvent, OrganiserEventError, series_of
from projections import reports

AT, META = datetime(2024, 9, 1, tzinfo=UTC), Meta("prop", "admin", "http", "c")
names = st.sampled_from(["Salon 2025", " Salon 2026 ", "Fair", "", "  ", "x" * 201])
series = st.none() | st.sampled_from(["Salon", " Salon  Expo ", "", "s" * 201])
days = st.none() | st.dates(date(2023, 1, 1), date(2027, 12, 31))
edits = st.fixed_dictionaries(
    {},
    optional={
        "name": names,
        "starts_on": days,
        "series": series,
        "several_bookings": st.booleans(),
    },
)


def _valid(edit: dict[str, Any]) -> bool:
    name, given_series = edit.get("name", "ok"), edit.get("series")
    return (
        bool(name.strip())
        and len(name) <= 200
        and (given_series is None or (bool(given_series.strip()) and len(given_series) <= 200))
    )


def _stored(edit: dict[str, Any]) -> dict[str, Any]:
    """An edit as the model keeps it: what `Created` stores."""
    tidy: dict[str, Callable[[Any], Any]] = {
        "name": lambda v: v.strip(),
        "starts_on": lambda v: v.isoformat() if v else None,
        "series": lambda v: " ".join(v.split()) if v else None,
        "several_bookings": lambda v: v,
    }
    return {k: tidy[k](v) for k, v in edit.items()}


@given(st.lists(edits, max_size=8))
def test_the_event_is_the_fold_of_its_accepted_edits(sequence: list[dict[str, Any]]) -> None:
    event = OrganiserEvent.create(uuid4(), "Salon 2024", "event", None, AT, META)
    model = event.details()
    recorded = 0
    for edit in sequence:
        try:
            event.change_details(AT, META, **edit)
        except OrganiserEventError:
            assert not _valid(edit)
            continue
        assert _valid(edit)
        changed = {**model, **_stored(edit)} != model
        model = {**model, **_stored(edit)}
        recorded += changed
        assert event.details() == model
    assert event.version == 1 + recorded
    events = event.collect_events()
    replayed = None
    for stored in events:
        replayed = stored.mutate(replayed)
    assert isinstance(replayed, OrganiserEvent)
    assert replayed.details() == model
    facts = reports.Facts()
    for stored in events:
        reports.apply(facts, stored)
    fact = facts.events[event.id]
    assert fact.name == model["name"]
    assert fact.series == (model["series"] or series_of(model["name"]))
    assert fact.edition == (event.starts_on or AT).year
