"""The contact and participant grids over HTTP, read-your-writes through `?after=`."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.http.conftest import Api, running_api
from tests.http.test_routes import an_event, ok, problem, register
from tests.support.world import T0


def people(api: Api) -> tuple[str, str, str]:
    sync = {"company": "up_and_propagate", "last_name": "up"}
    api.call("PUT", "/v1/settings", json={"sync": sync})
    salon, club = an_event(api), an_event(api)
    last = None
    for index, (email, company, last_name) in enumerate(
        [
            ("ada@example.org", "Acme", "Lovelace"),
            ("bob@example.org", "Globex", "Martin"),
            ("cy@example.org", "Acme", "Élan"),
            ("dee@example.org", None, "Dubois"),
        ]
    ):
        fields = {
            "email": email,
            "last_name": last_name,
            **({"company": company} if company else {}),
        }
        last = register(api, salon if index % 2 == 0 else club, **fields)
    again = register(api, club, email="ADA@example.org")
    return salon, club, again.headers["X-Position"] if again else last.headers["X-Position"]


def grid(api: Api, path: str, role: str = "analyst", **params: Any) -> Any:
    return api.call("GET", path, role, params=params)


def test_the_contact_grid_lists_people_once_with_their_events(api: Api) -> None:
    salon, club, position = people(api)
    page = ok(grid(api, "/v1/contacts", after=position))
    assert page["total"] == 4
    ada = next(i for i in page["items"] if i["fields"]["email"].lower() == "ada@example.org")
    assert ada["fields"]["email"] == "ADA@example.org"  # the latest registration's spelling
    assert ada["n_events"] == 2
    assert {e["event_id"] for e in ada["events"]} == {salon, club}
    names = [i["fields"].get("email") for i in page["items"]]
    assert names[0] == "dee@example.org"  # sorted by name: Dubois, Élan, Lovelace, Martin


def test_keyset_pages_walk_the_whole_grid(api: Api) -> None:
    _, _, position = people(api)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, "sort": "-email", "after": position}
        page = ok(grid(api, "/v1/contacts", **params, **({"cursor": cursor} if cursor else {})))
        seen += [i["fields"]["email"].casefold() for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 4


def test_free_text_filters_and_event_scope(api: Api) -> None:
    salon, _, position = people(api)
    assert ok(grid(api, "/v1/contacts", q="ÉLAN", after=position))["total"] == 1
    acme = json.dumps({"field": "company", "op": "eq", "value": "acme"})
    assert ok(grid(api, "/v1/contacts", filter=acme, after=position))["total"] == 2
    assert ok(grid(api, "/v1/contacts", event_id=salon, after=position))["total"] == 2
    participants = ok(grid(api, f"/v1/events/{salon}/participants", after=position))
    assert participants["total"] == 2
    assert {p["status"] for p in participants["items"]} == {"registered"}


def test_bad_grid_queries_are_422_naming_the_problem(api: Api) -> None:
    event_id = an_event(api)
    assert (
        "'shoe_size' is not one of"
        in problem(grid(api, "/v1/contacts", sort="shoe_size"), 422)["detail"]
    )
    assert "cursor" in problem(grid(api, "/v1/contacts", cursor="nonsense"), 422)["detail"]
    assert "filter" in problem(grid(api, "/v1/contacts", filter="{"), 422)["detail"]
    bad_op = json.dumps({"field": "x", "op": "like", "value": 1})
    assert "unknown op" in problem(grid(api, "/v1/contacts", filter=bad_op), 422)["detail"]
    assert "limit" in problem(grid(api, "/v1/contacts", limit=0), 422)["detail"]
    assert "unknown query" in problem(grid(api, "/v1/contacts", colour="red"), 422)["detail"]
    assert "UUID" in problem(grid(api, "/v1/contacts", event_id="x"), 422)["detail"]
    problem(grid(api, f"/v1/events/{event_id}/participants", "service"), 403)


def test_another_accounts_event_grid_is_404(api: Api, other_account: Api) -> None:
    theirs = an_event(other_account)
    problem(grid(api, f"/v1/events/{theirs}/participants"), 404)


def test_health_reports_projection_lag(api: Api) -> None:
    _, _, position = people(api)
    ok(grid(api, "/v1/contacts", after=position))
    projection = ok(api.client.get("/health"))["projections"]["grid"]
    assert projection["position"] >= int(position)
    assert projection["error"] is None


def test_saved_views_are_listed_and_applied(api: Api) -> None:
    _, _, position = people(api)
    body = {
        "name": "Acme people",
        "filter": {"field": "company", "op": "eq", "value": "acme"},
        "sort": "-name",
        "columns": ["last_name", "email"],
    }
    view = ok(api.call("POST", "/v1/views", "analyst", json=body), 201)
    assert [v["name"] for v in ok(api.call("GET", "/v1/views"))["items"]] == ["Acme people"]
    page = ok(grid(api, "/v1/contacts", view=view["id"], after=position))
    assert page["total"] == 2
    # names sort by their folded letters: "Élan" files under e (decision 0038)
    assert [i["fields"]["last_name"] for i in page["items"]] == ["Lovelace", "Élan"]
    explicit = ok(grid(api, "/v1/contacts", view=view["id"], sort="name", after=position))
    assert explicit["items"][0]["fields"]["last_name"] == "Élan"  # explicit params win
    ok(api.call("DELETE", f"/v1/views/{view['id']}"))
    problem(grid(api, "/v1/contacts", view=view["id"]), 404)


def test_invalid_views_are_refused(api: Api) -> None:
    problem(api.call("POST", "/v1/views", json={"name": "x", "sort": "shoe"}), 422)
    problem(api.call("POST", "/v1/views", json={"name": "", "sort": "name"}), 422)
    bad = {"name": "x", "filter": {"field": "x", "op": "like", "value": 1}}
    assert "filter" in problem(api.call("POST", "/v1/views", json=bad), 422)["detail"]
    problem(api.call("POST", "/v1/views", json={"name": "x", "grid": "participants"}), 422)
    problem(api.call("GET", "/v1/views/00000000-0000-0000-0000-000000000000"), 404)
    problem(api.call("DELETE", "/v1/views/00000000-0000-0000-0000-000000000000"), 404)


def test_health_reports_only_what_the_database_knows(api: Api) -> None:
    projection = ok(api.client.get("/health"))["projections"]["grid"]
    assert set(projection) == {"state", "position", "head", "lag", "error"}


def test_totals_say_whether_they_are_exact(api: Api, monkeypatch: Any) -> None:
    salon, _, position = people(api)
    page = ok(grid(api, "/v1/contacts", limit=2, after=position))
    assert (page["total"], page["total_exact"]) == (4, True)
    monkeypatch.setattr(api.system.grid, "count_cap", 3)
    page = ok(grid(api, "/v1/contacts", limit=2, after=position))
    assert (page["total"], page["total_exact"]) == (3, False)  # more than 3
    participants = ok(grid(api, f"/v1/events/{salon}/participants", after=position))
    assert (participants["total"], participants["total_exact"]) == (2, True)


@pytest.fixture
def ticking(tmp_path: Path, db_kind: str) -> Iterator[Api]:
    """The HTTP stack with a clock that moves a second per reading."""
    seconds = itertools.count()
    with running_api(db_kind, tmp_path, clock=lambda: T0 + timedelta(seconds=next(seconds))) as api:
        yield api


@pytest.mark.parametrize("grid", ["contacts", "participants"])
def test_a_past_grid_waits_for_the_audit_trail_it_is_folded_from(
    tmp_path: Path, db_kind: str, grid: str
) -> None:
    """`?as_of=` is served from the audit trail, not the grid: `?after=` waits for it."""
    with running_api(db_kind, tmp_path, read_wait_seconds=0.3) as api:
        event_id = an_event(api)
        api.system.projectors["audit"].stop()
        ada = register(api, event_id, email="ada@example.org")
        position = ok(ada, 201) and ada.headers["X-Position"]
        path = "/v1/contacts" if grid == "contacts" else f"/v1/events/{event_id}/participants"
        params = {"after": position, "as_of": T0.isoformat()}
        assert ok(api.call("GET", path, params={"after": position}))["items"]
        problem(api.call("GET", path, params=params), 504)
        api.system.projectors["audit"].start()
        then = ok(api.call("GET", path, params=params))
        assert [i["fields"]["email"] for i in then["items"]] == ["ada@example.org"]


def test_the_grids_as_of_a_past_time(ticking: Api) -> None:
    api = ticking
    event_id = an_event(api)
    ada = ok(register(api, event_id, email="ada@example.org", company="Acme"), 201)
    before = api.system.runtime.clock()
    path = f"/v1/events/{event_id}/participants/{ada['id']}"
    ok(api.call("PATCH", path, "editor", json={"fields": {"company": "Globex"}}))
    bob = register(api, event_id, email="bob@example.org")
    position = ok(bob, 201) and bob.headers["X-Position"]
    params = {"after": position, "as_of": before.isoformat()}
    then = ok(api.call("GET", "/v1/contacts", "analyst", params=params))
    assert [i["fields"]["email"] for i in then["items"]] == ["ada@example.org"]
    assert then["items"][0]["events"] == [{"event_id": event_id, "status": "registered"}]
    people = ok(api.call("GET", f"/v1/events/{event_id}/participants", params=params))
    assert [i["fields"]["company"] for i in people["items"]] == ["Acme"]
    now = api.call("GET", f"/v1/events/{event_id}/participants", params={"after": position})
    assert sorted(i["fields"].get("company", "") for i in ok(now)["items"]) == ["", "Globex"]
    for bad in ("yesterday", "2025-01-32", "0.5", "1700000000"):
        problem(api.call("GET", "/v1/contacts", params={"as_of": bad}), 422)


def test_an_erased_person_stays_erased_in_the_past(ticking: Api) -> None:
    api = ticking
    event_id = an_event(api)
    ada = ok(register(api, event_id, email="ada@example.org", last_name="Lovelace"), 201)
    before = api.system.runtime.clock()
    contact_id = ok(api.call("GET", f"/v1/events/{event_id}/participants/{ada['id']}"))[
        "contact_id"
    ]
    erased = api.call("POST", f"/v1/contacts/{contact_id}/erase", "compliance")
    ok(erased)
    params = {"as_of": before.isoformat(), "after": erased.headers["X-Position"]}
    answer = api.call("GET", "/v1/contacts", params=params)
    assert answer.status_code == 200
    assert "Lovelace" not in answer.text and "ada@example.org" not in answer.text
    assert [i["id"] for i in answer.json()["items"]] == [contact_id]
