"""The audit trail over HTTP (F14): a contact's history, the audit query, CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from adapters.sql.audit_store import make_cursor as audit_cursor
from tests.http.conftest import Api
from tests.http.test_routes import an_event, ok, problem, register


def setting_up(api: Api) -> tuple[str, str, str]:
    api.call("PUT", "/v1/settings", json={"sync": {"company": "up_and_propagate"}})
    event_id = an_event(api)
    participant = ok(register(api, event_id, email="ada@example.org", company="Acme"), 201)
    path = f"/v1/events/{event_id}/participants/{participant['id']}"
    edited = api.call("PATCH", path, "editor", json={"fields": {"company": "Globex"}})
    contact_id = ok(edited)["contact_id"]
    return contact_id, participant["id"], edited.headers["X-Position"]


def test_a_contacts_history_says_who_changed_what_and_how(api: Api) -> None:
    contact_id, participant_id, position = setting_up(api)
    history: dict[str, Any] = ok(
        api.call(
            "GET", f"/v1/contacts/{contact_id}/history", "compliance", params={"after": position}
        )
    )
    items = history["items"]
    registered = next(i for i in items if i["action"] == "Participant.Registered")
    assert registered["subject_id"] == participant_id and registered["role"] == "service"
    taken = [i for i in items if i["action"] == "Contact.FieldsChanged"]
    assert taken[-1]["changes"] == {"company": ["Acme", "Globex"]}
    assert taken[-1]["actor"] == "editor-bot" and taken[-1]["origin"] == "http"
    assert taken[-1]["details"]["via"]["participant_id"] == participant_id
    problem(api.call("GET", f"/v1/contacts/{contact_id}/history", "analyst"), 403)


def test_the_audit_query_filters_pages_and_exports(api: Api) -> None:
    _, _, position = setting_up(api)
    params = {"actor": "editor-bot", "after": position}
    by_editor = ok(api.call("GET", "/v1/audit", "compliance", params=params))["items"]
    assert by_editor and {i["actor"] for i in by_editor} == {"editor-bot"}
    first = ok(api.call("GET", "/v1/audit", "compliance", params={"limit": "2"}))
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = ok(
        api.call(
            "GET", "/v1/audit", "compliance", params={"limit": "2", "cursor": first["next_cursor"]}
        )
    )
    assert second["items"][0]["position"] > first["items"][-1]["position"]
    action = {"action": "Contact.FieldsChanged", "after": position}
    exported = api.call("GET", "/v1/exports/audit.csv", "compliance", params=action)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows and {r["action"] for r in rows} == {"Contact.FieldsChanged"}
    for bad in (
        {"from": "yesterday"},
        {"from": "2026-13-01"},
        {"limit": "0"},
        {"cursor": "nope"},
        {"contact": "x"},
        {"colour": "red"},
        {"actor": "a\x00b"},
        {"cursor": audit_cursor(2**64)},  # a position no database integer holds
    ):
        problem(api.call("GET", "/v1/audit", "compliance", params=bad), 422)


def test_erasure_blanks_the_history(api: Api) -> None:
    contact_id, _, _ = setting_up(api)
    erased = api.call("POST", f"/v1/contacts/{contact_id}/erase", "compliance")
    ok(erased)
    after = {"after": erased.headers["X-Position"]}
    problem(api.call("GET", f"/v1/contacts/{contact_id}/history", params=after), 410)
    params = {**after, "contact": contact_id, "limit": "500"}  # the audit keeps its facts
    history = ok(api.call("GET", "/v1/audit", "compliance", params=params))
    text = str(history)
    assert "ada@example.org" not in text and "Globex" not in text
    assert "Contact.Erased" in [i["action"] for i in history["items"]]
