"""Analyst reports over HTTP (F21): JSON and CSV, parameters, roles, accounts."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.http.conftest import Api
from tests.http.test_routes import ok, problem, register


def two_editions(api: Api) -> tuple[str, str, str]:
    """Salon 2024 and Salon 2025; Ada comes back, Bob does not; Ada attends 2025."""
    events = []
    for name, starts in (("Salon 2024", "2024-03-12"), ("Salon 2025", "2025-03-11")):
        event = ok(api.call("POST", "/v1/events", json={"name": name, "starts_on": starts}), 201)
        assert event["series"] == "Salon"
        ok(api.call("PUT", f"/v1/events/{event['id']}/sync", json={"enabled": True}))
        events.append(event["id"])
    for email in ("ada@example.org", "bob@example.org"):
        ok(register(api, events[0], email=email), 201)
    ada = ok(register(api, events[1], email="ada@example.org"), 201)
    path = f"/v1/events/{events[1]}/participants/{ada['id']}/status"
    attended = api.call("POST", path, "editor", json={"status": "attended"})
    ok(attended)
    return events[0], events[1], attended.headers["X-Position"]


def test_reports_answer_json_rows_with_their_columns(api: Api) -> None:
    _, second, position = two_editions(api)
    returning = ok(api.call("GET", "/v1/reports/returning", "analyst", params={"after": position}))
    assert returning["name"] == "returning"
    columns = ["series", "edition", "next_edition", "people", "returned", "rate"]
    assert returning["columns"] == columns
    assert [(r["edition"], r["people"], r["returned"], r["rate"]) for r in returning["rows"]] == [
        (2024, 2, 1, 0.5),
        (2025, 1, None, None),
    ]
    conversion = ok(
        api.call("GET", "/v1/reports/conversion", "analyst", params={"event_id": second})
    )
    assert [(r["event_name"], r["registered"], r["attended"]) for r in conversion["rows"]] == [
        ("Salon 2025", 1, 1)
    ]
    for name in ("registrations", "growth"):
        report = ok(api.call("GET", f"/v1/reports/{name}", "analyst", params={"period": "year"}))
        assert report["rows"] and set(report["rows"][0]) == set(report["columns"])


def test_a_report_downloads_as_csv(api: Api) -> None:
    _, _, position = two_editions(api)
    answer = api.call("GET", "/v1/reports/conversion.csv", "analyst", params={"after": position})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="conversion.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["event_name"], r["registered"], r["rate"]) for r in rows] == [
        ("Salon 2024", "2", "0.0"),
        ("Salon 2025", "1", "1.0"),
    ]


def test_an_events_series_can_be_named(api: Api) -> None:
    body = {"name": "Forum Lyon printemps", "series": "  Forum   Lyon "}
    event = ok(api.call("POST", "/v1/events", json=body), 201)
    assert event["series"] == "Forum Lyon"
    assert ok(api.call("GET", f"/v1/events/{event['id']}"))["series"] == "Forum Lyon"
    problem(api.call("POST", "/v1/events", json={"name": "Forum", "series": " "}), 422)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/reports/attendance", {}),
        ("/v1/reports/growth", {"period": "week"}),
        ("/v1/reports/growth", {"from": "2025-13-01"}),
        ("/v1/reports/growth", {"to": "0"}),  # not a Unix time
        ("/v1/reports/registrations.csv", {"from": "0.5"}),
        ("/v1/reports/growth", {"from": "2025-02-01", "to": "2025-01-01"}),
        ("/v1/reports/conversion", {"event_id": "not-a-uuid"}),
        ("/v1/reports/conversion", {"colour": "red"}),
        ("/v1/reports/conversion.csv", {"period": "week"}),
    ],
)
def test_refuses_bad_report_requests(api: Api, path: str, params: dict[str, Any]) -> None:
    problem(api.call("GET", path, "analyst", params=params), 422)


def test_reports_are_for_readers_and_their_own_account(api: Api, other_account: Api) -> None:
    _, _, position = two_editions(api)
    problem(api.call("GET", "/v1/reports/growth", "service"), 403)
    theirs = ok(other_account.call("GET", "/v1/reports/conversion", params={"after": position}))
    assert theirs["rows"] == []
