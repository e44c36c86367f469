"""Account settings over HTTP: names on contacts by default, PATCH changes only what it
names, and a PUT that leaves contacts nothing but their key says so."""

from __future__ import annotations

from tests.http.conftest import Api
from tests.http.test_routes import an_event, ok, problem, register

DEFAULTS = {"email": "up", "first_name": "up", "last_name": "up"}


def test_a_company_only_account_still_gets_findable_names(api: Api) -> None:
    assert ok(api.call("GET", "/v1/settings"))["sync"] == DEFAULTS
    answer = ok(api.call("PUT", "/v1/settings", json={"sync": {"company": "up"}}))
    assert answer["sync"] == {**DEFAULTS, "company": "up"} and answer["warnings"] == []
    event_id = an_event(api)
    fields = {"email": "elodie@example.org", "first_name": "Élodie", "last_name": "Müller"}
    written = register(api, event_id, **fields, company="Acme")
    found = api.call(
        "GET", "/v1/contacts", params={"q": "muller", "after": written.headers["X-Position"]}
    )
    assert [item["fields"] for item in ok(found)["items"]] == [{**fields, "company": "Acme"}]


def test_patch_changes_only_what_it_names(api: Api) -> None:
    put = {"sync": {"company": "up_and_propagate", "city": "up"}, "restore_window_months": 3}
    version = ok(api.call("PUT", "/v1/settings", json=put))["version"]
    patched = api.call("PATCH", "/v1/settings", json={"sync": {"first_name": "off", "city": "off"}})
    assert ok(patched)["sync"] == {
        "company": "up_and_propagate",
        "email": "up",
        "first_name": "off",
        "last_name": "up",
    }
    assert ok(patched)["restore_window_months"] == 3 and ok(patched)["version"] == version + 1
    longer = ok(api.call("PATCH", "/v1/settings", json={"restore_window_months": 6}))
    assert longer["sync"] == ok(patched)["sync"] and longer["restore_window_months"] == 6
    same = api.call("PATCH", "/v1/settings", json={})
    assert ok(same)["version"] == longer["version"]  # nothing named, nothing recorded
    stale = {"If-Match": f'"{version}"'}
    problem(api.call("PATCH", "/v1/settings", json={"sync": {}}, headers=stale), 412)
    key_off = problem(api.call("PATCH", "/v1/settings", json={"sync": {"email": "off"}}), 422)
    assert "uniqueness key" in key_off["detail"]
    problem(api.call("PATCH", "/v1/settings", json={"sync": {"company": "sideways"}}), 422)
    problem(api.call("PATCH", "/v1/settings", json={"colour": "red"}), 422)
    problem(api.call("PATCH", "/v1/settings", "editor", json={}), 403)


def test_a_put_that_leaves_contacts_only_their_key_says_so(api: Api) -> None:
    bare = {"sync": {"first_name": "off", "last_name": "off"}}
    answer = ok(api.call("PUT", "/v1/settings", json=bare))
    assert answer["sync"] == {"email": "up", "first_name": "off", "last_name": "off"}
    (warning,) = answer["warnings"]
    assert "only the uniqueness key (email) goes up to contacts" in warning
    assert ok(api.call("GET", "/v1/settings"))["warnings"] == [warning]
    named = ok(api.call("PATCH", "/v1/settings", json={"sync": {"last_name": "up"}}))
    assert named["warnings"] == []
