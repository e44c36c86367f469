"""Notes, site forms, the outbox and bulk jobs over HTTP (F8, F9, F18)."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.http.conftest import Api
from tests.http.test_contact_extras import contact_of
from tests.http.test_routes import an_event, ok, problem, register


def finished(api: Api, job: dict[str, Any], role: str = "editor") -> dict[str, Any]:
    """Poll a job until it is done or failed."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = ok(api.call("GET", f"/v1/jobs/{job['id']}", role))
        if seen["status"] in ("done", "failed"):
            return seen  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job {job['id']} did not finish: {seen}")


def grid(api: Api, after: str, **params: Any) -> list[str]:
    query = {"after": after, **params}
    return [item["id"] for item in ok(api.call("GET", "/v1/contacts", params=query))["items"]]


# --- notes ------------------------------------------------------------------------


def test_a_note_shows_on_the_contact_with_its_author(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    path = f"/v1/contacts/{contact_id}"
    written = ok(api.call("POST", path + "/notes", "editor", json={"text": "Wants a stand"}), 201)
    assert written["contact_id"] == contact_id
    notes = ok(api.call("GET", path))["notes"]
    assert [(n["id"], n["text"], n["author"]) for n in notes] == [
        (written["id"], "Wants a stand", "editor-bot")
    ]


def test_bad_notes_are_refused(api: Api, other_account: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    path = f"/v1/contacts/{contact_id}/notes"
    problem(api.call("POST", path, json={"text": ""}), 422)
    problem(api.call("POST", path, json={"text": "   "}), 422)
    problem(api.call("POST", path, json={"text": "x" * 10_001}), 422)
    problem(api.call("POST", path, json={"text": "a\x00b"}), 422)
    problem(api.call("POST", path, "analyst", json={"text": "hi"}), 403)
    problem(other_account.call("POST", path, json={"text": "hi"}), 404)
    problem(api.call("POST", path, json={"text": "hi"}, headers={"If-Match": '"99"'}), 412)
    assert ok(api.call("GET", f"/v1/contacts/{contact_id}"))["notes"] == []


def test_the_audit_says_a_note_was_written_without_its_text(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    written = api.call("POST", f"/v1/contacts/{contact_id}/notes", json={"text": "Secret plan"})
    after = written.headers["X-Position"]
    history = ok(api.call("GET", f"/v1/contacts/{contact_id}/history", params={"after": after}))
    notes = [e for e in history["items"] if e["action"] == "Contact.NoteAdded"]
    assert len(notes) == 1
    assert "Secret plan" not in json.dumps(notes[0])


# --- site forms ---------------------------------------------------------------------


def test_a_form_creates_the_contact_then_updates_it_by_key(api: Api) -> None:
    first = {"fields": {"email": "Ada@Example.org", "first_name": "Ada"}, "message": "Stand?"}
    created = ok(api.call("POST", "/v1/forms/contact/submissions", "service", json=first), 201)
    assert created["created_contact"] is True
    again = {"fields": {"email": "ada@example.org", "company": "Acme"}, "page": "/salon"}
    updated = ok(api.call("POST", "/v1/forms/request/submissions", "service", json=again), 201)
    assert updated["created_contact"] is False
    assert updated["contact_id"] == created["contact_id"]
    contact = ok(api.call("GET", f"/v1/contacts/{created['contact_id']}"))
    assert contact["fields"]["company"] == "Acme"
    assert contact["fields"]["first_name"] == "Ada"
    assert contact["forms"] == ["contact", "request"]
    sent = [(s["form"], s["message"], s["page"]) for s in contact["form_submissions"]]
    assert sent == [("contact", "Stand?", ""), ("request", "", "/salon")]


def test_a_form_joins_the_contact_of_a_registered_participant(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    body = {"fields": {"email": "ada@example.org"}, "message": "Hello"}
    sent = ok(api.call("POST", "/v1/forms/registration/submissions", "service", json=body), 201)
    assert sent["contact_id"] == contact_id


def test_the_grid_filters_on_the_kind_of_form_sent(api: Api) -> None:
    contact_of(api, "bob@example.org")
    body = {"fields": {"email": "ada@example.org"}}
    sent = api.call("POST", "/v1/forms/request/submissions", "service", json=body)
    after = sent.headers["X-Position"]
    asked = grid(api, after, filter=json.dumps({"form": "request"}))
    assert asked == [ok(sent, 201)["contact_id"]]
    assert grid(api, after, filter=json.dumps({"form": "contact"})) == []
    items = ok(api.call("GET", "/v1/contacts", params={"after": after}))["items"]
    assert sorted(i["forms"] for i in items) == [[], ["request"]]
    problem(api.call("GET", "/v1/contacts", params={"filter": '{"form": "survey"}'}), 422)


def test_bad_forms_are_refused_and_change_nothing(api: Api) -> None:
    before = api.system.ledger.recorder.max_notification_id()
    problem(api.call("POST", "/v1/forms/survey/submissions", json={"fields": {}}), 422)
    missing = problem(
        api.call("POST", "/v1/forms/contact/submissions", json={"fields": {"first_name": "A"}}),
        422,
    )
    assert missing["field"] == "email"
    bad = {"fields": {"email": "not an email"}}
    problem(api.call("POST", "/v1/forms/contact/submissions", json=bad), 422)
    long = {"fields": {"email": "a@example.org"}, "message": "x" * 10_001}
    problem(api.call("POST", "/v1/forms/contact/submissions", json=long), 422)
    unknown = {"fields": {"email": "a@example.org", "shoe_size": 42}}
    problem(api.call("POST", "/v1/forms/contact/submissions", json=unknown), 422)
    problem(api.call("POST", "/v1/forms/contact/submissions", "analyst", json=bad), 403)
    assert api.system.ledger.recorder.max_notification_id() == before


# --- outbox -------------------------------------------------------------------------


def outbox(api: Api, after: str, role: str = "service") -> list[dict[str, Any]]:
    return ok(api.call("GET", "/v1/outbox", role, params={"after": after}))["items"]  # type: ignore[no-any-return]


def test_a_password_reset_goes_through_the_outbox_until_acknowledged(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    path = f"/v1/contacts/{contact_id}/site-account/password-reset"
    asked = api.call("POST", path, "service")
    message = ok(asked, 202)
    listed = outbox(api, asked.headers["X-Position"])
    assert [(m["id"], m["kind"], m["to"]["email"]) for m in listed] == [
        (message["id"], "password_reset", "ada@example.org")
    ]
    ack = ok(api.call("POST", f"/v1/outbox/{message['id']}/ack", "service", json={}))
    assert ack["outcome"] == "sent"
    assert outbox(api, asked.headers["X-Position"]) == []
    again = ok(api.call("POST", f"/v1/outbox/{message['id']}/ack", json={"outcome": "failed"}))
    assert again["outcome"] == "sent"  # the first acknowledgement stands


def test_the_outbox_is_per_account_and_for_mailers(api: Api, other_account: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    asked = api.call("POST", f"/v1/contacts/{contact_id}/site-account/password-reset")
    message = ok(asked, 202)
    after = asked.headers["X-Position"]
    assert outbox(other_account, after) == []
    problem(other_account.call("POST", f"/v1/outbox/{message['id']}/ack", json={}), 404)
    problem(api.call("GET", "/v1/outbox", "editor"), 403)
    problem(api.call("GET", "/v1/outbox", "service", params={"limit": "0"}), 422)
    problem(api.call("GET", "/v1/outbox", "service", params={"cursor": "x"}), 422)
    missing = "00000000-0000-0000-0000-000000000001"
    problem(api.call("POST", f"/v1/outbox/{missing}/ack", json={}), 404)


def test_a_deleted_person_gets_no_message(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    asked = api.call("POST", f"/v1/contacts/{contact_id}/site-account/password-reset")
    ok(asked, 202)
    gone = api.call("DELETE", f"/v1/contacts/{contact_id}", params={"confirm": "DELETE"})
    ok(gone)
    assert outbox(api, gone.headers["X-Position"]) == []
    problem(api.call("POST", f"/v1/contacts/{contact_id}/site-account/password-reset"), 409)


# --- bulk jobs ------------------------------------------------------------------------


def a_group(api: Api, name: str = "VIP") -> str:
    return ok(api.call("POST", "/v1/groups", json={"name": name}), 201)["id"]  # type: ignore[no-any-return]


def test_a_bulk_action_on_a_whole_view_runs_as_a_job(api: Api) -> None:
    people = [contact_of(api, f"{n}@example.org")[0] for n in ("ada", "bob", "cy")]
    group_id = a_group(api)
    body = {"action": "add_to_group", "params": {"group_id": group_id}, "selection": {"view": {}}}
    queued = ok(api.call("POST", "/v1/bulk", "editor", json=body), 202)
    assert queued["status"] in ("queued", "running", "done")
    job = finished(api, queued)
    assert job["status"] == "done", job
    assert (job["total"], job["processed"], job["changed"], job["skipped"]) == (3, 3, 3, 0)
    for name in ("created_at", "started_at", "finished_at"):
        assert job[name].endswith(("+00:00", "Z")), job[name]  # times carry their zone
    assert sorted(_members(api, group_id)) == sorted(people)


def _members(api: Api, group_id: str) -> list[str]:
    head = str(api.system.ledger.recorder.max_notification_id())
    page = ok(api.call("GET", f"/v1/groups/{group_id}/members", params={"after": head}))
    return [item["id"] for item in page["items"]]


def test_a_bulk_action_on_a_filtered_view_touches_only_that_view(api: Api) -> None:
    settings = {"uniqueness_key": ["email"], "sync": {"company": "up"}}
    ok(api.call("PUT", "/v1/settings", json=settings))
    event_id = an_event(api)
    ok(register(api, event_id, email="ada@example.org", company="Acme"), 201)
    ok(register(api, event_id, email="bob@example.org", company="Other"), 201)
    view = {"filter": {"field": "company", "op": "eq", "value": "Acme"}}
    body = {
        "action": "set_processing_status",
        "params": {"status": "processed"},
        "selection": {"view": view},
    }
    head = str(api.system.ledger.recorder.max_notification_id())
    ok(api.call("GET", "/v1/contacts", params={"after": head}))  # the grid has them
    job = finished(api, ok(api.call("POST", "/v1/bulk", json=body), 202))
    assert (job["total"], job["changed"]) == (1, 1)
    head = str(api.system.ledger.recorder.max_notification_id())
    items = ok(api.call("GET", "/v1/contacts", params={"after": head}))["items"]
    statuses = {i["fields"]["email"]: i["processing_status"] for i in items}
    assert statuses == {"ada@example.org": "processed", "bob@example.org": "new"}


def test_marketing_emails_go_to_consenting_contacts_only(api: Api) -> None:
    willing, _ = contact_of(api, "ada@example.org")
    unwilling, _ = contact_of(api, "bob@example.org")
    consent = {"given": True, "source": "newsletter form"}
    ok(api.call("PUT", f"/v1/contacts/{willing}/consent", json=consent))
    missing = "00000000-0000-0000-0000-000000000001"
    body = {
        "action": "marketing_email",
        "params": {"campaign": "Salon 2026"},
        "selection": {"contact_ids": [willing, unwilling, missing]},
    }
    job = finished(api, ok(api.call("POST", "/v1/bulk", json=body), 202))
    assert (job["changed"], job["skipped"]) == (1, 2)
    reasons = {r["contact_id"]: r["reason"] for r in job["report"]}
    assert reasons == {
        unwilling: "the contact has not consented to marketing emails",
        missing: "not found",
    }
    head = str(api.system.ledger.recorder.max_notification_id())
    listed = outbox(api, head)
    assert [(m["contact_id"], m["kind"], m["campaign"]) for m in listed] == [
        (willing, "marketing_email", "Salon 2026")
    ]
    withdraw = {"given": False, "source": "unsubscribe link"}
    gone = api.call("PUT", f"/v1/contacts/{willing}/consent", json=withdraw)
    assert outbox(api, gone.headers["X-Position"]) == []  # consent is checked when sending too


def test_a_finished_job_keeps_no_values(api: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    body = {
        "action": "edit_fields",
        "params": {"fields": {"company": "Secret Corp"}},
        "selection": {"view": {"q": "ada@example.org"}},
    }
    head = str(api.system.ledger.recorder.max_notification_id())
    ok(api.call("GET", "/v1/contacts", params={"after": head}))
    job = finished(api, ok(api.call("POST", "/v1/bulk", json=body), 202))
    assert job["changed"] == 1
    assert ok(api.call("GET", f"/v1/contacts/{contact_id}"))["fields"]["company"] == "Secret Corp"
    with api.system.jobs.store.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT params, selection FROM jobs").all()
    assert "Secret Corp" not in str(stored) and "ada@example.org" not in str(stored)


def test_a_backfill_runs_as_a_job(api: Api) -> None:
    event_id = an_event(api, sync=False)
    for name in ("ada", "bob"):
        ok(register(api, event_id, email=f"{name}@example.org"), 201)
    ok(api.call("PUT", f"/v1/events/{event_id}/sync", json={"enabled": True, "scope": "all"}))
    body = {"action": "backfill", "params": {"event_id": event_id}}
    job = finished(api, ok(api.call("POST", "/v1/bulk", json=body), 202))
    assert (job["status"], job["processed"], job["changed"], job["total"]) == ("done", 2, 2, 2)


def test_bad_bulk_actions_are_refused_before_they_are_queued(api: Api, other_account: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    event_id = an_event(api)
    ids = {"contact_ids": [contact_id]}
    bad = [
        {"action": "backfill", "params": {"event_id": event_id, "segment": {"bogus": 1}}},
        {"action": "explode", "selection": ids},
        {"action": "add_to_group", "params": {}, "selection": ids},
        {"action": "add_to_group", "params": {"group_id": "nope"}, "selection": ids},
        {
            "action": "edit_fields",
            "params": {"fields": {"email": "x@example.org"}},
            "selection": ids,
        },
        {"action": "edit_fields", "params": {"fields": {"shoe_size": 1}}, "selection": ids},
        {"action": "edit_fields", "params": {"fields": {}}, "selection": ids},
        {"action": "set_processing_status", "params": {"status": "done"}, "selection": ids},
        {"action": "marketing_email", "params": {"campaign": ""}, "selection": ids},
        {"action": "set_processing_status", "params": {"status": "new"}},
        {"action": "set_processing_status", "params": {"status": "new"}, "selection": {}},
        {
            "action": "set_processing_status",
            "params": {"status": "new"},
            "selection": {"contact_ids": [contact_id], "view": {}},
        },
        {
            "action": "set_processing_status",
            "params": {"status": "new"},
            "selection": {"view": {"filter": {"field": "email", "op": "sounds_like"}}},
        },
        {"action": "backfill", "params": {}},
        {"action": "backfill", "params": {"event_id": "nope"}},
    ]
    for body in bad:
        problem(api.call("POST", "/v1/bulk", json=body), 422)
    theirs = a_group(other_account)
    body = {"action": "add_to_group", "params": {"group_id": theirs}, "selection": ids}
    problem(api.call("POST", "/v1/bulk", json=body), 404)
    problem(api.call("POST", "/v1/bulk", "analyst", json=bad[1]), 403)
    with api.system.jobs.store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM jobs").scalar() == 0


def test_a_job_is_seen_only_in_its_account(api: Api, other_account: Api) -> None:
    contact_id, _ = contact_of(api, "ada@example.org")
    body = {
        "action": "set_processing_status",
        "params": {"status": "processed"},
        "selection": {"contact_ids": [contact_id]},
    }
    job = finished(api, ok(api.call("POST", "/v1/bulk", json=body), 202))
    problem(other_account.call("GET", f"/v1/jobs/{job['id']}"), 404)
    problem(api.call("GET", f"/v1/jobs/{job['id']}", "analyst"), 403)
