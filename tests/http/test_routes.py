"""Every route once, and every error mapping once, through the real application."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.conftest import Api


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def an_event(api: Api, sync: bool = True) -> str:
    event = ok(api.call("POST", "/v1/events", json={"name": "Salon 2025", "kind": "event"}), 201)
    if sync:
        ok(
            api.call(
                "PUT", f"/v1/events/{event['id']}/sync", json={"enabled": True, "scope": "all"}
            )
        )
    return event["id"]


def register(api: Api, event_id: str, role: str = "service", **fields: Any) -> Any:
    body = {"fields": fields, "status": "registered", "source": "api"}
    return api.call("POST", f"/v1/events/{event_id}/participants", role, json=body)


def test_settings_round_trip(api: Api) -> None:
    body = {
        "uniqueness_key": ["email"],
        "sync": {"company": "up_and_propagate"},
        "restore_window_months": 2,
    }
    response = api.call("PUT", "/v1/settings", json=body)
    settings = ok(response)
    assert settings["sync"] == {
        "company": "up_and_propagate",
        "email": "up",
        "first_name": "up",
        "last_name": "up",
    }
    assert int(response.headers["X-Position"]) > 0
    assert ok(api.call("GET", "/v1/settings", "analyst"))["uniqueness_key"] == ["email"]


def test_fields_are_defined_and_listed(api: Api) -> None:
    body = {"name": "diet", "type": "single_choice", "label": "Diet", "options": ["vegan", "none"]}
    ok(api.call("POST", "/v1/fields", json=body), 201)
    problem(api.call("POST", "/v1/fields", json={**body, "options": ["other"]}), 409)
    problem(api.call("POST", "/v1/fields", json={**body, "type": "colour"}), 422)
    names = {f["name"]: f["scope"] for f in ok(api.call("GET", "/v1/fields", "service"))["items"]}
    assert names["diet"] == "account"
    assert names["email"] == "identity"


def test_events_are_created_listed_and_read(api: Api) -> None:
    event_id = an_event(api)
    listed = ok(api.call("GET", "/v1/events", "analyst"))["items"]
    assert [e["id"] for e in listed] == [event_id]
    event = ok(api.call("GET", f"/v1/events/{event_id}"))
    assert event["sync"]["enabled"] is True
    local = {"name": "stand", "type": "text", "label": "Stand"}
    ok(api.call("POST", f"/v1/events/{event_id}/fields", json=local), 201)
    assert ok(api.call("GET", f"/v1/events/{event_id}"))["fields"][0]["name"] == "stand"


def test_registering_answers_the_participant_and_its_contact(api: Api) -> None:
    event_id = an_event(api)
    response = register(api, event_id, email="ada@example.org", first_name="Ada")
    body = ok(response, 201)
    assert set(body) >= {"id", "event_id", "version", "status", "fields", "contact_id"}
    assert body["contact_id"] is not None
    position = response.headers["X-Position"]
    path = f"/v1/events/{event_id}/participants/{body['id']}"
    assert (
        ok(api.call("GET", f"{path}?after={position}", "editor"))["fields"]["first_name"] == "Ada"
    )
    contact = ok(api.call("GET", f"/v1/contacts/{body['contact_id']}?after={position}", "analyst"))
    assert contact["participants"] == [
        {"id": body["id"], "event_id": event_id, "status": "registered"}
    ]
    assert contact["n_events"] == 1


def test_a_participant_is_edited_moved_along_and_deleted(api: Api) -> None:
    event_id = an_event(api)
    created = ok(register(api, event_id, email="ada@example.org"), 201)
    path = f"/v1/events/{event_id}/participants/{created['id']}"
    edited = ok(api.call("PATCH", path, "editor", json={"fields": {"company": "Acme"}}))
    assert edited["version"] > created["version"]
    ok(api.call("POST", f"{path}/status", "service", json={"status": "attended"}))
    gone = ok(api.call("DELETE", path, "editor"))
    assert gone["deleted"] is True
    problem(api.call("PATCH", path, json={"fields": {"company": "X"}}), 409)


def test_a_contact_edit_flows_down_to_propagated_fields(api: Api) -> None:
    api.call("PUT", "/v1/settings", json={"sync": {"company": "up_and_propagate"}})
    event_id = an_event(api)
    created = ok(register(api, event_id, email="ada@example.org", company="Acme"), 201)
    contact = ok(
        api.call(
            "PATCH",
            f"/v1/contacts/{created['contact_id']}",
            "editor",
            json={"fields": {"company": "Globex"}},
        )
    )
    assert contact["fields"]["company"] == "Globex"
    participant = ok(api.call("GET", f"/v1/events/{event_id}/participants/{created['id']}"))
    assert participant["fields"]["company"] == "Globex"


def test_backfill_syncs_earlier_participants(api: Api) -> None:
    event_id = an_event(api, sync=False)
    created = ok(register(api, event_id, email="early@example.org"), 201)
    assert created["contact_id"] is None
    ok(api.call("PUT", f"/v1/events/{event_id}/sync", json={"enabled": True}))
    result = ok(api.call("POST", f"/v1/events/{event_id}/sync/backfill", "editor", json={}))
    assert result["joined"] == 1


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"email": "ada@example.org", "shoe_size": 42}, "shoe_size", "no such field"),
        ({"email": "ada@example.org", "first_name": 3}, "first_name", "must be a string"),
        ({"email": "ada@example.org", "diet": "keto"}, "diet", "not one of"),
        ({"email": "not-an-email"}, "email", "not an email"),
    ],
)
def test_bad_field_values_are_422_naming_the_field(
    api: Api, fields: dict[str, Any], field: str, reason: str
) -> None:
    api.call(
        "POST",
        "/v1/fields",
        json={"name": "diet", "type": "single_choice", "label": "D", "options": ["vegan"]},
    )
    event_id = an_event(api)
    before = api.system.ledger.recorder.max_notification_id()
    body = problem(register(api, event_id, **fields), 422)
    assert body["field"] == field
    assert reason in body["detail"]
    assert api.system.ledger.recorder.max_notification_id() == before


def test_an_illegal_transition_is_409_naming_the_current_status(api: Api) -> None:
    event_id = an_event(api)
    created = ok(
        api.call(
            "POST",
            f"/v1/events/{event_id}/participants",
            json={"fields": {"email": "a@x.org"}, "status": "waiting_list"},
        ),
        201,
    )
    body = problem(
        api.call(
            "POST",
            f"/v1/events/{event_id}/participants/{created['id']}/status",
            json={"status": "attended"},
        ),
        409,
    )
    assert body["current_status"] == "waiting_list"
    assert "'waiting_list'" in body["detail"]


def test_changing_the_key_once_contacts_exist_is_409(api: Api) -> None:
    event_id = an_event(api)
    ok(register(api, event_id, email="ada@example.org"), 201)
    body = problem(
        api.call("PUT", "/v1/settings", json={"uniqueness_key": ["email", "last_name"]}), 409
    )
    assert "once contacts exist" in body["detail"]


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"fields": {}, "extra": 1}', "extra"),
        (b'{"fields": "x"}', "fields"),
        (b'{"fields": {"first_name": "A\\u0000da"}}', "NUL"),  # PostgreSQL stores no NUL
        (b'{"fields": {"first_name": "\\ud800"}}', "Invalid JSON"),  # a lone surrogate
        (b'{"fields": {}, "status": 1}', "status"),  # strict: no coercion
    ],
)
def test_malformed_bodies_are_422(api: Api, content: bytes, detail: str) -> None:
    event_id = an_event(api)
    response = api.call(
        "POST",
        f"/v1/events/{event_id}/participants",
        content=content,
        headers={"content-type": "application/json"},
    )
    assert detail in problem(response, 422)["detail"]


def test_unknown_and_foreign_resources_are_404(api: Api, other_account: Api) -> None:
    theirs = an_event(other_account)
    problem(register(api, theirs, email="a@x.org"), 404)
    problem(api.call("GET", f"/v1/events/{theirs}"), 404)
    problem(api.call("GET", "/v1/contacts/00000000-0000-0000-0000-000000000000"), 404)
    problem(api.call("GET", "/v1/events/not-a-uuid"), 422)


def test_authentication_and_roles(api: Api) -> None:
    problem(api.client.get("/v1/events"), 401)
    problem(api.client.get("/v1/events", headers={"Authorization": "Bearer clt_nope"}), 401)
    assert "may not" in problem(api.call("PUT", "/v1/settings", "service", json={}), 403)["detail"]
    problem(
        api.call(
            "PATCH",
            "/v1/contacts/00000000-0000-0000-0000-000000000000",
            "analyst",
            json={"fields": {}},
        ),
        403,
    )


def test_if_match_guards_updates(api: Api) -> None:
    event_id = an_event(api)
    created = ok(register(api, event_id, email="ada@example.org"), 201)
    path = f"/v1/events/{event_id}/participants/{created['id']}"
    stale = {"If-Match": f'"{created["version"] - 1}"'}
    body = problem(api.call("PATCH", path, json={"fields": {"city": "Lyon"}}, headers=stale), 412)
    assert "current version" in body["detail"]
    fresh = {"If-Match": f'"{created["version"]}"'}
    assert ok(api.call("PATCH", path, json={"fields": {"city": "Lyon"}}, headers=fresh))
    problem(api.call("PATCH", path, json={"fields": {}}, headers={"If-Match": "yesterday"}), 422)


def test_reads_wait_for_a_position_then_give_up(api: Api) -> None:
    event_id = an_event(api)
    assert ok(api.call("GET", f"/v1/events/{event_id}?after=1"))
    problem(api.call("GET", f"/v1/events/{event_id}?after=999999"), 504)
    problem(api.call("GET", f"/v1/events/{event_id}?after=-1"), 422)


def test_oversized_bodies_are_413(api: Api) -> None:
    event_id = an_event(api)
    huge = b'{"fields": {"email": "' + b"a" * 2_000_000 + b'"}}'
    problem(
        api.call(
            "POST",
            f"/v1/events/{event_id}/participants",
            content=huge,
            headers={"content-type": "application/json"},
        ),
        413,
    )


def test_health_and_openapi_need_no_token(api: Api) -> None:
    assert ok(api.client.get("/health"))["status"] == "ok"
    document = ok(api.client.get("/openapi.json"))
    assert document["openapi"].startswith("3.1")
    operations = {(m.upper(), p) for p, item in document["paths"].items() for m in item}
    assert ("POST", "/v1/events/{event_id}/participants") in operations
    assert ("PATCH", "/v1/contacts/{contact_id}") in operations
    schema = document["components"]["schemas"]
    assert "RegisterIn" in schema
    assert "Problem" in schema


def test_reads_carry_an_etag_and_head_works(api: Api) -> None:
    event_id = an_event(api)
    response = api.call("GET", f"/v1/events/{event_id}")
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'
    assert api.call("HEAD", f"/v1/events/{event_id}").status_code == 200


def test_backfill_is_refused_while_sync_is_off(api: Api) -> None:
    event_id = an_event(api, sync=False)
    assert (
        "enable it first"
        in problem(api.call("POST", f"/v1/events/{event_id}/sync/backfill", json={}), 409)["detail"]
    )
