"""One rule for times over HTTP (query parameters and bodies): ISO 8601 dates and
date-times, fractions allowed, UTC when no zone, a bare date at 00:00 UTC."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import Api, running_api
from tests.http.test_routes import an_event, ok, problem, register

REGISTERED = datetime(2026, 12, 24, 13, 46, 1, 93512, tzinfo=UTC)
EDITED = datetime(2026, 12, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def story(tmp_path: Path, db_kind: str) -> Iterator[tuple[Api, str, str]]:
    """Ada registered with Acme at REGISTERED, moved to Globex at EDITED."""
    now = [REGISTERED]
    with running_api(db_kind, tmp_path, clock=lambda: now[0]) as api:
        api.call("PUT", "/v1/settings", json={"sync": {"company": "up_and_propagate"}})
        event_id = an_event(api)
        ada = ok(register(api, event_id, email="ada@example.org", company="Acme"), 201)
        now[0] = EDITED
        path = f"/v1/events/{event_id}/participants/{ada['id']}"
        edited = api.call("PATCH", path, json={"fields": {"company": "Globex"}})
        ok(edited)
        yield api, event_id, edited.headers["X-Position"]


def _audited(api: Api, after: str, **bounds: str) -> list[str]:
    params = {"after": after, "action": "Participant.Registered", **bounds}
    return [i["action"] for i in ok(api.call("GET", "/v1/audit", params=params))["items"]]


def test_the_audit_takes_dates_and_times_with_or_without_offsets(
    story: tuple[Api, str, str],
) -> None:
    api, _, after = story
    assert _audited(api, after, **{"from": "2026-12-25"}) == []
    assert _audited(api, after, to="2026-12-25") == ["Participant.Registered"]
    assert _audited(api, after, **{"from": REGISTERED.isoformat()}) == ["Participant.Registered"]
    assert _audited(api, after, **{"from": "2026-12-24T13:46:01.093513"}) == []
    assert _audited(api, after, **{"from": "2026-12-24T14:46:01.093512+01:00"}) != []
    refused = problem(api.call("GET", "/v1/audit", params={"from": "yesterday"}), 422)
    assert "from: 'yesterday' is not an ISO 8601 date or time" in refused["detail"]


def _companies(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    rows = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))
    return [row["company"] for row in rows]


def test_grids_and_exports_take_as_of_a_date(story: tuple[Api, str, str]) -> None:
    api, event_id, after = story
    then = {"as_of": "2026-12-25", "after": after}
    grid = ok(api.call("GET", "/v1/contacts", params=then))
    assert [i["fields"]["company"] for i in grid["items"]] == ["Acme"]
    assert _companies(api.call("GET", "/v1/exports/contacts.csv", params=then)) == ["Acme"]
    people = api.call("GET", f"/v1/events/{event_id}/participants.csv", params=then)
    assert _companies(people) == ["Acme"]
    now = api.call("GET", "/v1/exports/contacts.csv", params={"after": after})
    assert _companies(now) == ["Globex"]
    problem(api.call("GET", "/v1/exports/contacts.xlsx", params={"as_of": "soon"}), 422)


def test_bodies_and_reports_follow_the_same_rule(story: tuple[Api, str, str]) -> None:
    api, _, after = story
    contact_id = ok(api.call("GET", "/v1/contacts", params={"after": after}))["items"][0]["id"]
    consent = {"given": True, "source": "form", "given_at": "2026-12-20"}
    given = ok(api.call("PUT", f"/v1/contacts/{contact_id}/consent", json=consent))
    assert given["consent"]["given_at"] == "2026-12-20T00:00:00Z"
    locked = {"confirmed": True, "locked_until": "2026-12-31T12:00:00.5"}
    site = ok(api.call("PUT", f"/v1/contacts/{contact_id}/site-account", json=locked))
    assert site["site_account"]["locked_until"] == "2026-12-31T12:00:00.500000Z"
    for day in ("2026-12-24", "2026-12-24T00:00:00Z"):
        ok(api.call("GET", "/v1/reports/registrations", params={"from": day}))
    refused = api.call("GET", "/v1/reports/registrations", params={"from": "2026-12-24T13:00Z"})
    assert "not a whole day" in problem(refused, 422)["detail"]
