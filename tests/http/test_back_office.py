"""The back office over HTTP: sign-in, the contacts screens, their safety (issue 25)."""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.testclient import TestClient

from tests.http.conftest import Api
from tests.http.test_routes import an_event, ok, register
from tests.support.back_office import CSRF, PASSWORD, SIGN_IN, signed_in, user
from tests.support.sheets import csv_bytes


def a_contact(api: Api, **fields: Any) -> tuple[str, str]:
    """A contact registered to a new synced event: (contact id, log position)."""
    api.call("PUT", "/v1/settings", json={"sync": {"company": "up_and_propagate"}})
    answer = register(api, an_event(api), **fields)
    assert answer.status_code == 201, answer.text
    return answer.json()["contact_id"], answer.headers["X-Position"]


def sign_in_form(client: TestClient) -> str:
    found = SIGN_IN.search(client.get("/sign-in").text)
    assert found
    return found.group(1)


def test_a_stranger_is_sent_to_sign_in_and_a_person_to_the_contacts(api: Api) -> None:
    stranger = TestClient(api.system.http)
    assert stranger.get("/", follow_redirects=False).headers["location"] == "/sign-in"
    sent = stranger.get("/contacts?q=x", follow_redirects=False)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/sign-in?next=%2Fcontacts%3Fq%3Dx"
    person = signed_in(api)
    assert person.get("/", follow_redirects=False).headers["location"] == "/contacts"


def test_the_session_cookie_is_http_only_and_same_site(api: Api) -> None:
    email = user(api, "editor")
    client = TestClient(api.system.http)
    answer = client.post(
        "/sign-in",
        data={"csrf": sign_in_form(client), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "ledger_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP here; over TLS it is Secure (next test)
    tls = TestClient(api.system.http, base_url="https://testserver")
    answer = tls.post(
        "/sign-in",
        data={"csrf": sign_in_form(tls), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert "secure" in answer.headers["set-cookie"].lower()


def test_a_wrong_password_is_refused_and_repeated_failures_are_throttled(api: Api) -> None:
    email = user(api, "editor")
    client = TestClient(api.system.http)
    wrong = {"csrf": sign_in_form(client), "email": email, "password": "not the password"}
    answer = client.post("/sign-in", data=wrong)
    assert answer.status_code == 401
    assert "Wrong e-mail address or password." in answer.text
    assert "ledger_session" not in answer.headers.get("set-cookie", "")
    limit = api.system.runtime.throttle.limit
    for _ in range(limit):
        client.post("/sign-in", data={**wrong, "csrf": sign_in_form(client)})
    right = {"csrf": sign_in_form(client), "email": email, "password": PASSWORD}
    answer = client.post("/sign-in", data=right)
    assert answer.status_code == 429, answer.text
    assert "Too many failed sign-ins" in answer.text


def test_a_sign_in_without_the_form_token_is_refused(api: Api) -> None:
    email = user(api, "editor")
    client = TestClient(api.system.http)
    answer = client.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 403
    assert "ledger_session" not in answer.headers.get("set-cookie", "")


def test_signing_out_ends_the_session_everywhere(api: Api) -> None:
    person = signed_in(api)
    cookie = person.client.cookies.get("ledger_session")
    assert person.get("/contacts").status_code == 200
    assert person.post("/sign-out", {}, form_page="/contacts").status_code == 303
    copied = TestClient(api.system.http, cookies={"ledger_session": cookie or ""})
    assert copied.get("/contacts", follow_redirects=False).status_code == 303


def test_the_grid_lists_searches_and_opens_a_contact(api: Api) -> None:
    contact_id, position = a_contact(api, email="francois@example.org", last_name="Lefèvre")
    a_contact(api, email="bob@example.org", last_name="Martin")
    person = signed_in(api, "analyst")
    page = person.get(f"/contacts?q=lefevre&after={position}")
    assert page.status_code == 200, page.text
    assert f'href="/contacts/{contact_id}"' in page.text
    assert "bob@example.org" not in page.text
    card = person.get(f"/contacts/{contact_id}")
    assert card.status_code == 200
    assert "Lefèvre" in card.text


def test_an_edit_in_the_card_is_the_api_command_with_the_user_and_the_ui_as_origin(
    api: Api,
) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org", company="Acme")
    person = signed_in(api, "editor")
    answer = person.post(f"/contacts/{contact_id}", {"field.company": "Globex"})
    assert answer.status_code == 303, answer.text
    card = person.get(answer.headers["location"])
    assert 'value="Globex"' in card.text
    assert "Saved." in card.text
    after = answer.headers["location"].split("?after=")[1]
    history = ok(api.call("GET", f"/v1/contacts/{contact_id}/history?after={after}"))
    edit = next(e for e in history["items"] if e["changes"].get("company") == ["Acme", "Globex"])
    assert edit["origin"] == "ui"
    assert edit["role"] == "editor"
    assert re.fullmatch(r"user:[0-9a-f]{12}", edit["actor"])


def test_a_refused_value_is_shown_beside_its_field_and_nothing_changes(api: Api) -> None:
    field = {"name": "website", "type": "url", "label": "Site"}
    ok(api.call("POST", "/v1/fields", json=field), 201)
    contact_id, _ = a_contact(api, email="ada@example.org")
    person = signed_in(api, "editor")
    answer = person.post(f"/contacts/{contact_id}", {"field.website": "not a url"})
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text
    assert 'value="not a url"' in answer.text  # what was typed stays in the form
    contact = ok(api.call("GET", f"/v1/contacts/{contact_id}"))
    assert "website" not in contact["fields"]


def test_an_analyst_sees_no_edit_button_and_posting_anyway_is_403(api: Api) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org", company="Acme")
    analyst = signed_in(api, "analyst")
    card = analyst.get(f"/contacts/{contact_id}")
    assert card.status_code == 200
    assert f'action="/contacts/{contact_id}"' not in card.text
    assert "Add the note" not in card.text
    token = CSRF.search(card.text)
    assert token  # the sign-out form's: a real session token
    answer = analyst.client.post(
        f"/contacts/{contact_id}",
        data={"csrf": token.group(1), "field.company": "Globex"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "role &#39;analyst&#39; may not edit a contact" in answer.text
    assert ok(api.call("GET", f"/v1/contacts/{contact_id}"))["fields"]["company"] == "Acme"


def test_a_form_without_its_csrf_token_changes_nothing(api: Api) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org", company="Acme")
    editor = signed_in(api, "editor")
    answer = editor.client.post(
        f"/contacts/{contact_id}", data={"field.company": "Evil"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert ok(api.call("GET", f"/v1/contacts/{contact_id}"))["fields"]["company"] == "Acme"


def test_html_in_personal_data_renders_as_text(api: Api) -> None:
    script = "<script>alert(1)</script>"
    contact_id, position = a_contact(api, email="x@example.org", last_name=script)
    editor = signed_in(api, "editor")
    assert (
        editor.post(
            f"/contacts/{contact_id}/notes",
            {"text": "<b>bold</b> & <i>"},
            form_page=f"/contacts/{contact_id}",
        ).status_code
        == 303
    )
    for path in (f"/contacts?after={position}", f"/contacts/{contact_id}"):
        page = editor.get(path)
        assert script not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;" in editor.get(f"/contacts/{contact_id}").text


def test_pages_with_personal_data_are_not_stored_nor_framed(api: Api) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org")
    person = signed_in(api)
    for path in ("/contacts", f"/contacts/{contact_id}", "/sign-in"):
        headers = person.get(path).headers
        assert headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src" not in headers["content-security-policy"]  # no script at all
        assert headers["x-frame-options"] == "DENY"


def test_another_accounts_contact_is_404_in_the_ui_as_in_the_api(
    api: Api, other_account: Api
) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org")
    stranger = signed_in(other_account, "admin", email="boss@competitor.example")
    assert other_account.call("GET", f"/v1/contacts/{contact_id}").status_code == 404
    assert stranger.get(f"/contacts/{contact_id}").status_code == 404
    assert stranger.get("/contacts/not-an-id").status_code == 422


def test_french_by_the_browser_and_by_the_switch(api: Api) -> None:
    person = signed_in(api)
    french = person.get("/contacts", headers={"accept-language": "fr-CH, fr;q=0.9, en;q=0.8"})
    assert "Rechercher" in french.text
    assert '<html lang="fr">' in french.text
    person.get("/language?to=en&next=/contacts")
    assert "Search" in person.get("/contacts", headers={"accept-language": "fr"}).text
    assert person.get("/language?to=de").status_code == 422


def test_only_local_redirects_after_sign_in(api: Api) -> None:
    email = user(api, "editor")
    client = TestClient(api.system.http)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = client.post(
            "/sign-in",
            data={
                "csrf": sign_in_form(client),
                "email": email,
                "password": PASSWORD,
                "next": target,
            },
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/contacts"


def test_delete_by_typing_delete_then_restore_from_the_deleted_list(api: Api) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org", last_name="Lovelace")
    admin = signed_in(api)
    card = f"/contacts/{contact_id}"
    refused = admin.post(f"{card}/delete", {"confirm": "delete"}, form_page=card)
    assert refused.status_code == 422
    assert "Type DELETE to confirm." in refused.text
    assert ok(api.call("GET", card.replace("/contacts", "/v1/contacts")))["fields"]
    deleted = admin.post(f"{card}/delete", {"confirm": "DELETE"}, form_page=card)
    assert deleted.status_code == 303
    listed = admin.get(deleted.headers["location"])
    assert "Lovelace" in listed.text
    assert f'action="/contacts/{contact_id}/restore"' in listed.text
    restored = admin.post(f"/contacts/{contact_id}/restore", {}, form_page="/contacts/deleted")
    assert restored.status_code == 303, restored.text
    assert "Restored." in admin.get(restored.headers["location"]).text
    after = restored.headers["location"].split("?after=")[1]
    assert "Lovelace" not in admin.get(f"/contacts/deleted?after={after}").text


def test_an_editor_deletes_but_only_compliance_restores(api: Api) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org", last_name="Lovelace")
    editor = signed_in(api, "editor")
    card = f"/contacts/{contact_id}"
    deleted = editor.post(f"{card}/delete", {"confirm": "DELETE"}, form_page=card)
    assert deleted.status_code == 303
    listed = editor.get(deleted.headers["location"])  # /contacts/deleted?after=…
    assert "Lovelace" in listed.text
    assert "/restore" not in listed.text
    analyst = signed_in(api, "analyst")
    assert 'href="/contacts/deleted"' not in analyst.get("/contacts").text
    assert analyst.get("/contacts/deleted").status_code == 403


def test_an_admin_creates_an_event_and_turns_its_contact_sync_on(api: Api) -> None:
    admin = signed_in(api)
    made = admin.post("/events", {"name": "Salon 2026", "kind": "event"})
    assert made.status_code == 303, made.text
    page = admin.get(made.headers["location"])
    assert "Salon 2026" in page.text
    event_page = made.headers["location"]
    synced = admin.post(
        f"{event_page}/sync", {"enabled": "on", "scope": "all"}, form_page=event_page
    )
    assert synced.status_code == 303
    assert "checked" in admin.get(synced.headers["location"]).text.split('name="enabled"')[1][:20]
    refused = admin.post("/events", {"name": "", "kind": "event"})
    assert refused.status_code == 422
    assert signed_in(api, "editor").post("/events", {"name": "X"}, "/events").status_code == 403


def test_an_admin_edits_an_event_with_only_what_the_form_changed(api: Api) -> None:
    event_id = an_event(api)
    admin = signed_in(api)
    page = f"/events/{event_id}"
    shown = {"version": "2", "name": "Salon 2025", "starts_on": "", "series": "Salon"}
    edited = admin.post(page, {**shown, "name": "Salon Expo 2025", "several_bookings": "on"})
    assert edited.status_code == 303, edited.text
    after = admin.get(edited.headers["location"])
    assert "<h1>Salon Expo 2025</h1>" in after.text
    event = ok(api.call("GET", f"/v1/events/{event_id}"))
    assert (event["name"], event["series"], event["several_bookings"]) == (
        "Salon Expo 2025", "Salon Expo", True,
    )  # fmt: skip  # the series shown was not sent: it follows the name
    stale = admin.post(page, {**shown, "name": "Salon 2099"})  # version 2 is past
    assert stale.status_code == 412
    assert ok(api.call("GET", f"/v1/events/{event_id}"))["name"] == "Salon Expo 2025"
    blank = admin.post(page, {**shown, "version": "3", "name": " "})
    assert blank.status_code == 422
    assert 'role="alert">an event name is 1 to 200 characters' in blank.text
    editor = signed_in(api, "editor")
    assert f'action="/events/{event_id}" class="fields"' not in editor.get(page).text
    assert editor.post(page, {**shown, "name": "Mine"}).status_code == 403
    assert admin.client.post(page, data={"name": "No token"}).status_code == 403
    assert ok(api.call("GET", f"/v1/events/{event_id}"))["version"] == 3


def test_a_company_edited_in_one_event_is_seen_in_the_other(api: Api) -> None:
    api.call("PUT", "/v1/settings", json={"sync": {"company": "up_and_propagate"}})
    first, second = an_event(api), an_event(api)
    one = register(api, first, email="ada@example.org", company="Acme").json()
    other = register(api, second, email="ada@example.org", company="Acme").json()
    editor = signed_in(api, "editor")
    page = f"/events/{first}/participants/{one['id']}"
    edited = editor.post(page, {"field.company": "Globex", "field.email": "ada@example.org"})
    assert edited.status_code == 303, edited.text
    after = edited.headers["location"].split("?after=")[1]
    seen = editor.get(f"/events/{second}/participants/{other['id']}?after={after}")
    assert 'value="Globex"' in seen.text


def test_only_the_allowed_status_changes_are_offered_and_others_refused(api: Api) -> None:
    event_id = an_event(api)
    one = register(api, event_id, email="ada@example.org").json()  # registered
    editor = signed_in(api, "editor")
    page = f"/events/{event_id}/participants/{one['id']}"
    offered = re.findall(r'<option value="(\w+)">', editor.get(page).text)
    assert sorted(offered) == ["attended", "unregistered", "waiting_list"]
    refused = editor.post(f"{page}/status", {"status": "accessed"}, form_page=page)
    assert refused.status_code == 409
    assert "registered" in refused.text
    moved = editor.post(f"{page}/status", {"status": "attended"}, form_page=page)
    assert moved.status_code == 303


def test_a_bulk_add_to_group_runs_as_a_job_with_its_progress(api: Api) -> None:
    group = ok(api.call("POST", "/v1/groups", json={"name": "VIP"}), 201)["id"]
    first, _ = a_contact(api, email="ada@example.org")
    second, position = a_contact(api, email="bob@example.org")
    editor = signed_in(api, "editor")
    grid = f"/contacts?after={position}"
    started = editor.post(
        "/contacts/bulk",
        {
            "scope": "ticked",
            "action": "add_to_group",
            "group_id": group,
            "contact_id": [first, second],
        },
        form_page=grid,
    )
    assert started.status_code == 303, started.text
    job_page = started.headers["location"]
    assert job_page.startswith("/jobs/")
    for _ in range(200):
        page = editor.get(job_page)
        if 'http-equiv="refresh"' not in page.text:
            break
        time.sleep(0.05)
    assert "changed: 2" in page.text, page.text


def test_a_view_is_saved_and_the_grid_exported(api: Api) -> None:
    _, position = a_contact(api, email="ada@example.org", company="Acme")
    analyst = signed_in(api, "analyst")
    grid = f"/contacts?q=acme&after={position}"
    saved = analyst.post("/contacts/views", {"name": "Acme people", "view_q": "acme"}, grid)
    assert saved.status_code == 303, saved.text
    page = analyst.get(saved.headers["location"])
    assert "Acme people" in page.text
    assert "ada@example.org" in page.text
    exported = analyst.get("/contacts/export.csv?q=acme")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["cache-control"] == "no-store"
    assert "ada@example.org" in exported.text


def wait_until_done(person: Any, page: str) -> Any:
    for _ in range(400):
        answer = person.get(page)
        if 'http-equiv="refresh"' not in answer.text:
            return answer
        time.sleep(0.05)
    raise AssertionError(f"{page} still running")


def test_an_import_is_uploaded_mapped_and_reported_with_its_skipped_row(api: Api) -> None:
    editor = signed_in(api, "editor")
    sheet = csv_bytes(
        [
            ["E-mail", "Prénom", "Nom"],
            ["ada@example.org", "Ada", "Lovelace"],
            ["not an address", "Bob", "Martin"],
        ]
    )
    form = CSRF.search(editor.get("/imports").text)
    assert form
    mapped = editor.client.post(
        "/imports",
        data={"csrf": form.group(1), "mode": "create_and_update"},
        files={"file": ("people.csv", sheet, "text/csv")},
    )
    assert mapped.status_code == 200, mapped.text
    assert 'name="map.E-mail"' in mapped.text
    token = re.search(r'name="token" value="(\w+)"', mapped.text)
    assert token
    suggested = dict(
        re.findall(r'name="map\.([^"]+)".*?<option value="(\w+)" selected', mapped.text, re.S)
    )
    assert suggested == {"E-mail": "email", "Prénom": "first_name", "Nom": "last_name"}
    started = editor.client.post(
        "/imports/start",
        data={
            "csrf": CSRF.search(mapped.text).group(1),
            "token": token.group(1),  # type: ignore[union-attr]
            "mode": "create_and_update",
            **{f"map.{k}": v for k, v in suggested.items()},
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, started.text
    done = wait_until_done(editor, started.headers["location"])
    assert '<span class="created">1</span>' in done.text
    assert '<span class="skipped">1</span>' in done.text
    assert "email" in done.text.split("Why it was skipped")[1]  # the reason names the field
    report = editor.get(started.headers["location"] + "/report.csv")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")


def test_a_refused_file_says_why_in_one_sentence(api: Api) -> None:
    editor = signed_in(api, "editor")
    form = CSRF.search(editor.get("/imports").text)
    assert form
    refused = editor.client.post(
        "/imports",
        data={"csrf": form.group(1)},
        files={
            "file": (
                "old.xls",
                b"\xd0\xcf\x11\xe0 an Excel 97 workbook",
                "application/vnd.ms-excel",
            )
        },
    )
    assert refused.status_code == 422
    message = re.search(r'class="error" role="alert">([^<]+)<', refused.text)
    assert message, refused.text
    assert "old Excel file (.xls)" in message.group(1)
    assert "\n" not in message.group(1)


def test_settings_change_a_sync_mode_define_a_field_and_warn_of_the_name_key(api: Api) -> None:
    admin = signed_in(api)
    page = admin.get("/settings")
    assert "a spelling variant of a name" in page.text
    saved = admin.post(
        "/settings", {"uniqueness_key": "email", "sync.company": "up", "restore_window_months": "3"}
    )
    assert saved.status_code == 303, saved.text
    settings = ok(api.call("GET", "/v1/settings"))
    assert settings["sync"]["company"] == "up"
    assert settings["restore_window_months"] == 3
    defined = admin.post(
        "/settings/fields",
        {"name": "diet", "label": "Diet", "type": "single_choice", "options": "none; vegan"},
        form_page="/settings",
    )
    assert defined.status_code == 303, defined.text
    fields = ok(api.call("GET", "/v1/fields"))["items"]
    assert {"name": "diet", "options": ["none", "vegan"]}.items() <= next(
        f for f in fields if f["name"] == "diet"
    ).items()
    refused = admin.post(
        "/settings/fields",
        {"name": "Bad Name", "label": "x", "type": "text"},
        form_page="/settings",
    )
    assert refused.status_code == 422
    editor = signed_in(api, "editor")
    assert 'action="/settings"' not in editor.get("/settings").text
    assert editor.post("/settings", {"sync.company": "off"}, "/settings").status_code == 403


def test_the_audit_screen_names_the_user_and_is_for_compliance(api: Api) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org", company="Acme")
    editor = signed_in(api, "editor", email="eve@organiser.example")
    edited = editor.post(f"/contacts/{contact_id}", {"field.company": "Globex"})
    after = edited.headers["location"].split("?after=")[1]
    compliance = signed_in(api, "compliance")
    api.call("GET", f"/v1/audit?after={after}", "compliance")
    page = compliance.get(f"/audit?contact={contact_id}")
    assert page.status_code == 200
    assert "eve@organiser.example (editor)" in page.text
    assert "company: Acme → Globex" in page.text
    exported = compliance.get(f"/audit/export.csv?contact={contact_id}")
    assert exported.headers["content-type"].startswith("text/csv")
    assert signed_in(api, "analyst").get("/audit").status_code == 403


def test_reports_show_a_chart_beside_the_table_and_the_grid_of_a_past_date(api: Api) -> None:
    _, position = a_contact(api, email="ada@example.org")
    analyst = signed_in(api, "analyst")
    api.call("GET", f"/v1/reports/registrations?after={position}", "analyst")
    page = analyst.get("/reports?report=registrations")
    assert page.status_code == 200, page.text
    assert "<svg" in page.text
    assert "<table" in page.text
    past = analyst.get("/contacts?as_of=2000-01-01")
    assert past.status_code == 200
    assert "replayed from the log" in past.text
    assert "ada@example.org" not in past.text
    assert analyst.get("/reports?report=nope").status_code == 404


def test_compliance_exports_then_erases_by_typing_erase(api: Api) -> None:
    contact_id, _ = a_contact(api, email="ada@example.org", last_name="Lovelace")
    compliance = signed_in(api, "compliance")
    card = f"/contacts/{contact_id}"
    exported = compliance.get(f"{card}/export.json")
    assert exported.status_code == 200
    assert exported.json()["contact"]["fields"]["last_name"] == "Lovelace"
    assert exported.headers["cache-control"] == "no-store"
    refused = compliance.post(f"{card}/do/erase", {"confirm": "yes"}, form_page=card)
    assert refused.status_code == 422
    erased = compliance.post(f"{card}/do/erase", {"confirm": "ERASE"}, form_page=card)
    assert erased.status_code == 303, erased.text
    assert api.call("GET", f"/v1/contacts/{contact_id}").status_code == 410
    assert compliance.get(card).status_code == 410
    editor = signed_in(api, "editor")
    other, _ = a_contact(api, email="bob@example.org")
    assert "Erase this person" not in editor.get(f"/contacts/{other}").text


def test_an_editor_merges_two_contacts_and_asks_for_a_password_reset(api: Api) -> None:
    survivor, _ = a_contact(api, email="ada@example.org", company="Acme")
    other, _ = a_contact(api, email="ada.lovelace@example.org")
    editor = signed_in(api, "editor")
    card = f"/contacts/{survivor}"
    merged = editor.post(f"{card}/merge", {"merge_id": other}, form_page=card)
    assert merged.status_code == 303, merged.text
    assert len(ok(api.call("GET", f"/v1/contacts/{survivor}"))["participants"]) == 2
    again = editor.post(f"{card}/merge", {"merge_id": other}, form_page=card)
    assert again.status_code == 409
    reset = editor.post(f"{card}/do/password-reset", {}, form_page=card)
    assert reset.status_code == 303
    assert "password-reset" in reset.headers.get("set-cookie", "")


def test_every_wrong_field_is_shown_at_once(api: Api) -> None:
    for name, kind in (("website", "url"), ("visits", "number")):
        ok(api.call("POST", "/v1/fields", json={"name": name, "type": kind, "label": name}), 201)
    contact_id, _ = a_contact(api, email="ada@example.org")
    editor = signed_in(api, "editor")
    answer = editor.post(f"/contacts/{contact_id}", {"field.website": "nope", "field.visits": "x"})
    assert answer.status_code == 422
    assert answer.text.count('aria-invalid="true"') == 2
    converted = editor.post(f"/contacts/{contact_id}", {"field.visits": "1 250"})
    assert converted.status_code == 303
    assert ok(api.call("GET", f"/v1/contacts/{contact_id}"))["fields"]["visits"] == 1250


def test_the_sync_segment_is_built_in_the_editor(api: Api) -> None:
    event_id = ok(api.call("POST", "/v1/events", json={"name": "Salon"}), 201)["id"]
    admin = signed_in(api)
    page = f"/events/{event_id}"
    saved = admin.post(
        f"{page}/sync",
        {
            "enabled": "on",
            "scope": "segment",
            "cond.0.field": "status",
            "cond.0.op": "in",
            "cond.0.value": "registered; attended",
            "cond.1.field": "company",
            "cond.1.op": "not_empty",
        },
        form_page=page,
    )
    assert saved.status_code == 303, saved.text
    sync = ok(api.call("GET", f"/v1/events/{event_id}"))["sync"]
    assert sync["scope"] == "segment"
    conditions = [{k: v for k, v in c.items() if v is not None} for c in sync["segment"]["all"]]
    assert conditions == [
        {"field": "status", "op": "in", "value": ["registered", "attended"]},
        {"field": "company", "op": "not_empty"},
    ]
    refused = admin.post(
        f"{page}/sync",
        {"enabled": "on", "scope": "segment", "segment": "{not json"},
        form_page=page,
    )
    assert refused.status_code == 422


def test_an_events_participants_are_filtered_as_the_contacts_are(api: Api) -> None:
    event_id = an_event(api)
    group = ok(api.call("POST", "/v1/groups", json={"name": "VIP"}), 201)["id"]
    vip = register(api, event_id, email="vip@example.org").json()
    other = register(api, event_id, email="other@example.org").json()
    members = {"contact_ids": [vip["contact_id"]]}
    added = api.call("POST", f"/v1/groups/{group}/members", json=members)
    assert added.status_code == 200, added.text
    editor = signed_in(api, "editor")
    after = added.headers["X-Position"]
    page = editor.get(f"/events/{event_id}?group={group}&status=registered&after={after}")
    assert page.status_code == 200, page.text
    assert "vip@example.org" in page.text
    assert "other@example.org" not in page.text
    assert other["id"]


def test_a_forged_view_filter_is_a_clear_refusal_not_a_500(api: Api) -> None:
    editor = signed_in(api, "editor")
    for path, data in (
        ("/contacts/bulk", {"scope": "view", "action": "add_to_group", "view_filter": "{oops"}),
        ("/contacts/views", {"name": "x", "view_filter": "{oops"}),
    ):
        answer = editor.post(path, data, form_page="/contacts")
        assert answer.status_code == 422, answer.text
        assert "not JSON" in answer.text
