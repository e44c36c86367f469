"""Contact extras over HTTP: processing status, consent, site account, groups, grid filters."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.http.conftest import Api
from tests.http.test_routes import an_event, ok, problem, register
from tests.support.world import T0


def contact_of(api: Api, email: str) -> tuple[str, str]:
    """Register a person; answers (contact id, position of the write)."""
    event_id = an_event(api)
    written = register(api, event_id, email=email)
    participant = ok(written, 201)
    seen = api.call("GET", f"/v1/events/{event_id}/participants/{participant['id']}")
    return ok(seen)["contact_id"], written.headers["X-Position"]


def test_processing_status_consent_and_site_account_show_on_the_contact(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    path = f"/v1/contacts/{contact_id}"
    body = ok(api.call("PUT", path + "/processing-status", "editor", json={"status": "processed"}))
    assert body["processing_status"] == "processed"
    given_at = (T0 - timedelta(days=1)).isoformat()
    consent = {"given": True, "source": "newsletter form", "given_at": given_at}
    body = ok(api.call("PUT", path + "/consent", "service", json=consent))
    assert body["consent"]["source"] == "newsletter form"
    until = (T0 + timedelta(hours=1)).isoformat()
    site = {"confirmed": True, "locked_until": until, "failed_attempts": 5}
    written = api.call("PUT", path + "/site-account", "service", json=site)
    assert ok(written)["site_account"]["locked"] is True
    body = ok(api.call("POST", path + "/site-account/unlock", "editor"))
    assert body["site_account"] == {
        "confirmed": True,
        "locked_until": None,
        "failed_attempts": 0,
        "locked": False,
    }


def test_bad_extras_are_422_and_stale_versions_412(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    path = f"/v1/contacts/{contact_id}"
    problem(api.call("PUT", path + "/processing-status", json={"status": "done"}), 422)
    problem(api.call("PUT", path + "/consent", json={"given": True, "source": ""}), 422)
    no_hour = {"given": True, "source": "form", "given_at": "2026-01-01T25:00:00"}
    problem(api.call("PUT", path + "/consent", json=no_hour), 422)
    ancient = {"given": True, "source": "form", "given_at": "0001-01-01T00:00:00+14:00"}
    problem(api.call("PUT", path + "/consent", json=ancient), 422)  # year 0 in UTC
    beyond = {"confirmed": True, "locked_until": "9999-12-31T23:59:59-14:00"}
    problem(api.call("PUT", path + "/site-account", json=beyond), 422)
    problem(
        api.call("PUT", path + "/site-account", json={"confirmed": 1, "failed_attempts": -1}), 422
    )
    stale = {"If-Match": '"99"'}
    body = {"status": "processed"}
    problem(api.call("PUT", path + "/processing-status", json=body, headers=stale), 412)
    problem(api.call("PUT", path + "/processing-status", "analyst", json=body), 403)


def test_groups_are_created_listed_and_filled_by_selection(api: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    bob, position = contact_of(api, "bob@example.org")
    vip = ok(api.call("POST", "/v1/groups", "editor", json={"name": "VIP"}), 201)
    problem(api.call("POST", "/v1/groups", "editor", json={"name": "vip"}), 409)
    assert ok(api.call("GET", "/v1/groups", "analyst"))["items"] == [vip]
    members = f"/v1/groups/{vip['id']}/members"
    added = api.call("POST", members, "editor", json={"contact_ids": [ada]})
    assert ok(added)["changed"] == 1
    page = ok(api.call("GET", members, "analyst", params={"after": added.headers["X-Position"]}))
    assert [item["id"] for item in page["items"]] == [ada]
    assert page["items"][0]["groups"] == [vip["id"]]
    grid = ok(api.call("GET", "/v1/contacts", "analyst", params={"group_id": vip["id"]}))
    assert grid["total"] == 1
    missing = api.call("POST", members, "editor", json={"contact_ids": [bob, vip["id"]]})
    problem(missing, 404)
    page = ok(api.call("GET", members, "analyst", params={"after": position}))
    assert page["total"] == 1  # nothing of the refused command was applied
    unknown = api.call("GET", "/v1/contacts", "analyst", params={"group_id": ada})
    problem(unknown, 404)


def filtered(api: Api, after: str, segment: dict[str, Any]) -> list[str]:
    params = {"filter": json.dumps(segment), "after": after}
    return [item["id"] for item in ok(api.call("GET", "/v1/contacts", params=params))["items"]]


def test_the_grid_filters_on_consent_locked_and_processing_status(api: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    bob, _ = contact_of(api, "bob@example.org")
    api.call("PUT", f"/v1/contacts/{ada}/consent", json={"given": True, "source": "form"})
    until = (T0 + timedelta(minutes=5)).isoformat()
    site = {"confirmed": False, "locked_until": until, "failed_attempts": 3}
    api.call("PUT", f"/v1/contacts/{bob}/site-account", json=site)
    last = api.call("PUT", f"/v1/contacts/{bob}/processing-status", json={"status": "in_progress"})
    after = last.headers["X-Position"]
    assert filtered(api, after, {"consent": True}) == [ada]
    assert filtered(api, after, {"consent": False}) == [bob]
    assert filtered(api, after, {"locked": True}) == [bob]
    in_progress = {"field": "processing_status", "op": "eq", "value": "in_progress"}
    assert filtered(api, after, {"any": [in_progress, {"consent": True}]}) == sorted([ada, bob])
    problem(api.call("GET", "/v1/contacts", params={"filter": '{"locked": "yes"}'}), 422)
    bad_type = {"field": "site_confirmed", "op": "eq", "value": "no"}
    problem(api.call("GET", "/v1/contacts", params={"filter": json.dumps(bad_type)}), 422)


def test_a_multiple_choice_field_filters_on_any_of_its_values(api: Api) -> None:
    topics = {"name": "topics", "type": "multiple_choice", "label": "Topics"}
    ok(api.call("POST", "/v1/fields", json={**topics, "options": ["AI", "Énergie"]}), 201)
    api.call("PUT", "/v1/settings", json={"sync": {"topics": "up"}})
    event_id = an_event(api)
    ok(register(api, event_id, email="ada@example.org", topics=["AI", "Énergie"]), 201)
    last = register(api, event_id, email="bob@example.org", topics=["AI"])
    after = last.headers["X-Position"]
    energy = {"field": "topics", "op": "eq", "value": "énergie"}
    params = {"filter": json.dumps(energy), "after": after}
    page = ok(api.call("GET", "/v1/contacts", params=params))
    assert [item["fields"]["email"] for item in page["items"]] == ["ada@example.org"]
    page = ok(api.call("GET", f"/v1/events/{event_id}/participants", params=params))
    assert page["total"] == 1
    not_energy = {"filter": json.dumps({**energy, "op": "ne"}), "after": after}
    page = ok(api.call("GET", "/v1/contacts", params=not_energy))
    assert [item["fields"]["email"] for item in page["items"]] == ["bob@example.org"]
