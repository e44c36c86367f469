"""Delete, restore, erase and the access export over HTTP (F11–F13)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.http.conftest import Api
from tests.http.test_contact_extras import contact_of
from tests.http.test_routes import an_event, ok, problem, register
from tests.support.world import T0


def contacts(api: Api, after: str) -> list[str]:
    page = ok(api.call("GET", "/v1/contacts", "analyst", params={"after": after}))
    return [item["id"] for item in page["items"]]


def test_deleting_needs_confirmation_then_hides_the_contact_until_restored(api: Api) -> None:
    ada, position = contact_of(api, "ada@example.org")
    path = f"/v1/contacts/{ada}"
    refused = problem(api.call("DELETE", path, "editor"), 422)
    assert "confirm=DELETE" in refused["detail"]
    assert contacts(api, position) == [ada]
    deleted = api.call("DELETE", path, "editor", params={"confirm": "DELETE"})
    body = ok(deleted)
    assert body["deleted"] is True
    assert body["restore_until"] == "2025-03-07T00:00:00Z"  # T0 is 6 Jan 2025: through 6 Mar
    assert contacts(api, deleted.headers["X-Position"]) == []
    problem(api.call("PATCH", path, json={"fields": {"company": "X"}}), 409)
    problem(api.call("POST", path + "/restore", "editor"), 403)
    restored = api.call("POST", path + "/restore", "compliance")
    assert ok(restored)["deleted"] is False
    assert contacts(api, restored.headers["X-Position"]) == [ada]


def test_restoring_after_a_newcomer_took_the_key_names_the_newcomer(api: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    api.call("DELETE", f"/v1/contacts/{ada}", params={"confirm": "DELETE"})
    newcomer, _ = contact_of(api, "ada@example.org")
    assert newcomer != ada
    refused = problem(api.call("POST", f"/v1/contacts/{ada}/restore", "compliance"), 409)
    assert refused["contact_id"] == newcomer
    assert newcomer in refused["detail"]


def test_erasure_keeps_the_facts_and_forgets_the_person(api: Api) -> None:
    event_id = an_event(api)
    participant = ok(register(api, event_id, email="ada@example.org", first_name="Ada"), 201)
    ada = ok(api.call("GET", f"/v1/events/{event_id}/participants/{participant['id']}"))[
        "contact_id"
    ]
    problem(api.call("POST", f"/v1/contacts/{ada}/erase", "editor"), 403)
    erased = api.call("POST", f"/v1/contacts/{ada}/erase", "compliance")
    assert ok(erased)["participants_erased"] == 1
    again = ok(api.call("POST", f"/v1/contacts/{ada}/erase", "compliance"))
    assert again["participants_erased"] == 0 and again["erased"] is True
    problem(api.call("GET", f"/v1/contacts/{ada}", "compliance"), 410)
    kept = ok(api.call("GET", f"/v1/events/{event_id}/participants/{participant['id']}"))
    assert kept["fields"] == {} and kept["status"] == "registered" and kept["deleted"] is True
    problem(api.call("POST", f"/v1/contacts/{ada}/restore", "compliance"), 410)
    grid = ok(
        api.call(
            "GET",
            f"/v1/events/{event_id}/participants",
            params={"after": erased.headers["X-Position"]},
        )
    )
    assert grid["total"] == 0


def test_the_access_export_holds_everything_about_the_person(api: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    vip = ok(api.call("POST", "/v1/groups", json={"name": "VIP"}), 201)
    api.call("POST", f"/v1/groups/{vip['id']}/members", json={"contact_ids": [ada]})
    consent = {"given": True, "source": "form", "given_at": (T0 - timedelta(days=2)).isoformat()}
    given = api.call("PUT", f"/v1/contacts/{ada}/consent", json=consent)
    problem(api.call("GET", f"/v1/contacts/{ada}/export", "analyst"), 403)
    after = {"after": given.headers["X-Position"]}
    export: dict[str, Any] = ok(
        api.call("GET", f"/v1/contacts/{ada}/export", "compliance", params=after)
    )
    assert export["contact"]["fields"]["email"] == "ada@example.org"
    assert export["groups"] == [vip]
    assert export["contact"]["consent"]["source"] == "form"
    assert [p["fields"]["email"] for p in export["participations"]] == ["ada@example.org"]
    actions = [entry["action"] for entry in export["history"]]
    assert "Participant.Registered" in actions and "Contact.ConsentGiven" in actions
    assert all(entry["actor"] and entry["origin"] for entry in export["history"])


def test_the_purge_command_erases_what_is_due(api: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    api.call("DELETE", f"/v1/contacts/{ada}", params={"confirm": "DELETE"})
    purger = api.system.purger
    api.system.projector.catch_up()
    assert purger.run(T0 + timedelta(days=30)).contacts == 0
    report = purger.run(T0 + timedelta(days=70))
    assert (report.contacts, report.participants) == (1, 0)
    assert purger.run(T0 + timedelta(days=70)).contacts == 0  # idempotent
    problem(api.call("GET", f"/v1/contacts/{ada}", "compliance"), 410)
    problem(api.call("POST", f"/v1/contacts/{ada}/restore", "compliance"), 410)


def _erased_directly(api: Api, contact_id: str) -> Any:
    return api.call("POST", f"/v1/contacts/{contact_id}/erase", "compliance")


def _purged_after_the_window(api: Api, contact_id: str) -> Any:
    deleted = api.call("DELETE", f"/v1/contacts/{contact_id}", params={"confirm": "DELETE"})
    api.system.projector.catch_up()
    assert api.system.purger.run(T0 + timedelta(days=70)).contacts == 1
    return deleted


@pytest.mark.parametrize("erase", [_erased_directly, _purged_after_the_window])
def test_an_erased_contact_is_gone_however_it_was_erased(api: Api, erase: Any) -> None:
    event_id = an_event(api)
    ok(register(api, event_id, email="ada@example.org", first_name="Ada"), 201)
    ada, _ = contact_of(api, "ada@example.org")
    bob, _ = contact_of(api, "bob@example.org")
    ok(erase(api, ada))
    path = f"/v1/contacts/{ada}"
    gone = problem(api.call("GET", path, "compliance"), 410)
    assert gone["detail"] == f"contact {ada} was erased"
    for method, sub, body in [
        ("GET", "/history", None),
        ("GET", "/export", None),
        ("PATCH", "", {"fields": {"company": "X"}}),
        ("POST", "/notes", {"text": "hello"}),
        ("PUT", "/processing-status", {"status": "processed"}),
        ("POST", "/restore", None),
        ("POST", "/merge", {"merge_id": bob}),
    ]:
        problem(api.call(method, path + sub, "admin", json=body), 410)
    position = api.system.ledger.recorder.max_notification_id()
    report = ok(api.call("GET", "/v1/reports/registrations", params={"after": position}))
    assert sum(row["registered"] for row in report["rows"]) == 3  # the facts still count
