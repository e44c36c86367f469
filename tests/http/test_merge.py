"""POST /v1/contacts/{contact_id}/merge (F10) and what a merge shows elsewhere."""

from __future__ import annotations

from typing import Any

from tests.http.conftest import Api
from tests.http.test_contact_extras import contact_of
from tests.http.test_routes import ok, problem


def merge(api: Api, survivor: str, merged: Any, role: str = "editor", **kwargs: Any) -> Any:
    body = kwargs.pop("json", {"merge_id": merged})
    return api.call("POST", f"/v1/contacts/{survivor}/merge", role, json=body, **kwargs)


def test_a_merge_answers_the_survivor_and_leaves_a_hidden_tombstone(api: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    typo, _ = contact_of(api, "ada@exemple.org")
    version = ok(api.call("GET", f"/v1/contacts/{ada}"))["version"]
    problem(merge(api, ada, typo, "analyst"), 403)
    merged = merge(api, ada, typo, headers={"If-Match": f'"{version}"'})
    body = ok(merged)
    assert body["id"] == ada and body["merged_from"] == [typo] and body["merged_into"] is None
    assert len(body["participants"]) == 2 and body["n_events"] == 2
    assert merged.headers["ETag"] == f'"{body["version"]}"' and body["version"] > version
    tombstone = ok(api.call("GET", f"/v1/contacts/{typo}"))
    assert tombstone["merged_into"] == ada and tombstone["deleted"] is True
    assert tombstone["participants"] == [] and tombstone["restore_until"] is None
    after = {"after": merged.headers["X-Position"]}
    grid = ok(api.call("GET", "/v1/contacts", "analyst", params=after))
    assert [item["id"] for item in grid["items"]] == [ada]
    assert grid["items"][0]["n_events"] == 2


def test_merge_refusals_are_problems(api: Api, other_account: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    typo, _ = contact_of(api, "ada@exemple.org")
    gone, _ = contact_of(api, "gone@example.org")
    problem(merge(api, ada, ada), 422)
    problem(merge(api, ada, "not-a-uuid"), 422)
    problem(merge(api, ada, typo, json={"merge_id": typo, "into": ada}), 422)
    problem(merge(api, ada, typo, headers={"If-Match": '"7"'}), 412)  # ada is at version 1
    foreign, _ = contact_of(other_account, "ada@example.org")
    problem(merge(api, ada, foreign), 404)
    problem(merge(api, foreign, ada), 404)
    ok(api.call("POST", f"/v1/contacts/{gone}/erase", "compliance"))
    problem(merge(api, ada, gone), 410)
    ok(merge(api, ada, typo))
    again = problem(merge(api, ada, typo), 409)
    assert again["contact_id"] == ada and ada in again["detail"]
    edit = problem(api.call("PATCH", f"/v1/contacts/{typo}", json={"fields": {"city": "X"}}), 409)
    assert edit["contact_id"] == ada
    problem(merge(api, typo, ada), 409)
    api.call("DELETE", f"/v1/contacts/{ada}", params={"confirm": "DELETE"})
    bob, _ = contact_of(api, "bob@example.org")
    problem(merge(api, ada, bob), 409)  # a deleted survivor: restore it first


def test_the_survivors_history_export_and_erasure_take_in_the_merged_contact(api: Api) -> None:
    ada, _ = contact_of(api, "ada@example.org")
    typo, _ = contact_of(api, "ada@exemple.org")
    merged = merge(api, ada, typo)
    after = {"after": merged.headers["X-Position"]}
    history = ok(api.call("GET", f"/v1/contacts/{ada}/history", "compliance", params=after))
    subjects = {(e["action"], e["subject_id"]) for e in history["items"]}
    assert ("Contact.Created", typo) in subjects  # the merged contact's past
    assert ("Contact.Merged", typo) in subjects and ("Contact.Absorbed", ada) in subjects
    export = ok(api.call("GET", f"/v1/contacts/{ada}/export", "compliance", params=after))
    emails = sorted(p["fields"]["email"] for p in export["participations"])
    assert emails == ["ada@example.org", "ada@exemple.org"]
    assert [c["id"] for c in export["merged"]] == [typo]
    problem(api.call("POST", f"/v1/contacts/{typo}/erase", "compliance"), 409)
    erased = ok(api.call("POST", f"/v1/contacts/{ada}/erase", "compliance"))
    assert (erased["participants_erased"], erased["merged_erased"]) == (2, 1)
    problem(api.call("GET", f"/v1/contacts/{typo}", "compliance"), 410)  # gone with ada
