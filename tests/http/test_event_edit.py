"""PATCH /v1/events/{id}: an event's name, date, series and bookings rule (decision 0055)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from adapters.sql.grid_tables import events
from tests.http.conftest import Api
from tests.http.test_bookings_and_edits import facts
from tests.http.test_routes import ok, problem, register


def a_salon(api: Api, **given: Any) -> dict[str, Any]:
    body = {"name": "Salon 2025", "kind": "event", "starts_on": "2025-03-11", **given}
    return ok(api.call("POST", "/v1/events", json=body), 201)  # type: ignore[no-any-return]


def edit(api: Api, event_id: str, role: str = "admin", **kwargs: Any) -> Any:
    return api.call("PATCH", f"/v1/events/{event_id}", role, **kwargs)


def test_an_edit_changes_only_what_the_body_names(api: Api) -> None:
    salon = a_salon(api)
    answer = edit(api, salon["id"], json={"name": "Salon Expo 2026", "starts_on": "2026-03-10"})
    edited = ok(answer)
    assert answer.headers["ETag"] == '"2"'
    assert (edited["name"], edited["starts_on"], edited["series"]) == (
        "Salon Expo 2026", "2026-03-10", "Salon Expo",
    )  # fmt: skip
    assert (edited["kind"], edited["several_bookings"], edited["version"]) == ("event", False, 2)
    assert ok(api.call("GET", f"/v1/events/{salon['id']}")) == edited
    cleared = ok(edit(api, salon["id"], json={"series": "Fair", "starts_on": None}))
    assert (cleared["series"], cleared["starts_on"]) == ("Fair", None)
    back = ok(edit(api, salon["id"], json={"series": None}))
    assert back["series"] == "Salon Expo"
    (changed, *_) = facts(api, "OrganiserEvent.DetailsChanged")
    assert changed.changes == {"name": "Salon Expo 2026", "starts_on": "2026-03-10"}
    audit = {"action": "OrganiserEvent.DetailsChanged", "after": answer.headers["X-Position"]}
    (entry, *_) = ok(api.call("GET", "/v1/audit", params=audit))["items"]
    assert (entry["subject_kind"], entry["event_id"]) == ("event", salon["id"])
    assert entry["details"] == {"changes": changed.changes}


def test_an_edit_changing_nothing_records_nothing(api: Api) -> None:
    salon = a_salon(api)
    same = {"name": "Salon 2025", "starts_on": "2025-03-11", "several_bookings": False}
    for body in (same, {}):
        answer = edit(api, salon["id"], json=body)
        assert ok(answer)["version"] == 1
        assert answer.headers["ETag"] == '"1"'
    assert facts(api, "OrganiserEvent.DetailsChanged") == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": " "},
        {"name": None},
        {"name": "x" * 201},
        {"series": ""},
        {"series": "s" * 201},
        {"starts_on": "2025-02-30"},
        {"several_bookings": None},
        {"several_bookings": "yes"},
        {"kind": "community"},
        {"colour": "red"},
    ],
)
def test_bad_input_is_422(api: Api, body: dict[str, Any]) -> None:
    salon = a_salon(api)
    problem(edit(api, salon["id"], json=body), 422)
    assert ok(api.call("GET", f"/v1/events/{salon['id']}"))["version"] == 1


def test_a_kind_change_is_refused_saying_why(api: Api) -> None:
    salon = a_salon(api)
    refused = problem(edit(api, salon["id"], json={"kind": "community"}), 422)
    assert [error["loc"] for error in refused["errors"]] == ["kind"]
    assert "cannot change" in refused["detail"], refused


def test_an_unknown_event_is_404_and_a_stale_version_412(api: Api) -> None:
    problem(edit(api, "00000000-0000-4000-8000-000000000000", json={"name": "X"}), 404)
    salon = a_salon(api)
    ok(edit(api, salon["id"], json={"name": "Salon 2026"}, headers={"If-Match": '"1"'}))
    stale = edit(api, salon["id"], json={"name": "Salon 2027"}, headers={"If-Match": '"1"'})
    problem(stale, 412)
    assert ok(api.call("GET", f"/v1/events/{salon['id']}"))["name"] == "Salon 2026"


@pytest.mark.parametrize("role", ["editor", "analyst", "compliance", "service"])
def test_only_an_admin_edits_an_event(api: Api, role: str) -> None:
    salon = a_salon(api)
    problem(edit(api, salon["id"], role, json={"name": "Mine"}), 403)


def test_several_bookings_toggled_on_then_off(api: Api) -> None:
    salon = a_salon(api)
    first = ok(register(api, salon["id"], email="ada@example.org"), 201)
    problem(register(api, salon["id"], email="ada@example.org"), 409)
    assert ok(edit(api, salon["id"], json={"several_bookings": True}))["several_bookings"]
    second = ok(register(api, salon["id"], email="ada@example.org"), 201)
    assert second["id"] != first["id"]
    turned_off = ok(edit(api, salon["id"], json={"several_bookings": False}))
    assert turned_off["several_bookings"] is False  # allowed: the two bookings stay
    refused = problem(register(api, salon["id"], email="ada@example.org"), 409)
    assert refused["participant_id"] == first["id"]
    ok(register(api, salon["id"], email="bob@example.org"), 201)


def test_reports_and_grids_follow_the_edit(api: Api) -> None:
    salon = a_salon(api)
    ok(api.call("PUT", f"/v1/events/{salon['id']}/sync", json={"enabled": True}))
    ok(register(api, salon["id"], email="ada@example.org"), 201)
    answer = edit(api, salon["id"], json={"name": "Fair 2026", "starts_on": "2026-05-04"})
    after = {"after": answer.headers["X-Position"]}
    report = ok(api.call("GET", "/v1/reports/conversion", "analyst", params=after))
    assert [(r["event_name"], r["series"], r["edition"]) for r in report["rows"]] == [
        ("Fair 2026", "Fair", 2026)
    ]
    answer = edit(api, salon["id"], json={"series": "Salon", "starts_on": None})
    after = {"after": answer.headers["X-Position"]}
    report = ok(api.call("GET", "/v1/reports/conversion", "analyst", params=after))
    assert [(r["series"], r["edition"]) for r in report["rows"]] == [("Salon", 2025)]
    ok(api.call("GET", f"/v1/events/{salon['id']}/participants", params=after))
    with api.system.grid.engine.connect() as connection:  # the grid's row of the event
        row = connection.execute(
            select(events.c.name, events.c.starts_on).where(events.c.event_id == UUID(salon["id"]))
        ).one()
    assert tuple(row) == ("Fair 2026", None)
