"""Access control, route by route: the role matrix, 401 without a token, and isolation of
accounts (another account's resources answer 404 on every route and never leak)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.http.roles import END, START, role_matrix
from adapters.http.routes import ENDPOINTS
from tests.conftest import _require
from tests.http.conftest import Api, running_api
from tests.http.test_routes import an_event, ok, register
from tests.support.sheets import csv_bytes

# The intended matrix, written out independently of the route declarations: a route whose
# roles change must change here too, on purpose.
MATRIX = """
GET /v1/settings: admin editor analyst compliance
PUT /v1/settings: admin
PATCH /v1/settings: admin
POST /v1/fields: admin
GET /v1/fields: admin editor analyst compliance service
POST /v1/events: admin
GET /v1/events: admin editor analyst compliance service
GET /v1/events/{event_id}: admin editor analyst compliance service
PATCH /v1/events/{event_id}: admin
POST /v1/events/{event_id}/fields: admin
PUT /v1/events/{event_id}/sync: admin
POST /v1/events/{event_id}/sync/backfill: admin editor
POST /v1/events/{event_id}/participants: admin editor service
GET /v1/events/{event_id}/participants: admin editor analyst compliance
GET /v1/events/{event_id}/participants/{participant_id}: admin editor analyst compliance service
PATCH /v1/events/{event_id}/participants/{participant_id}: admin editor service
DELETE /v1/events/{event_id}/participants/{participant_id}: admin editor
POST /v1/events/{event_id}/participants/{participant_id}/status: admin editor service
GET /v1/contacts: admin editor analyst compliance
GET /v1/exports/contacts.csv: admin editor analyst compliance
GET /v1/exports/contacts.xlsx: admin editor analyst compliance
GET /v1/events/{event_id}/participants.csv: admin editor analyst compliance
GET /v1/events/{event_id}/participants.xlsx: admin editor analyst compliance
POST /v1/views: admin editor analyst compliance
GET /v1/views: admin editor analyst compliance
GET /v1/views/{view_id}: admin editor analyst compliance
DELETE /v1/views/{view_id}: admin editor analyst compliance
GET /v1/deleted-contacts: admin editor compliance
GET /v1/contacts/{contact_id}: admin editor analyst compliance
PATCH /v1/contacts/{contact_id}: admin editor
DELETE /v1/contacts/{contact_id}: admin editor
POST /v1/contacts/{contact_id}/restore: admin compliance
POST /v1/contacts/{contact_id}/erase: admin compliance
GET /v1/contacts/{contact_id}/export: admin compliance
GET /v1/contacts/{contact_id}/history: admin compliance
GET /v1/audit: admin compliance
GET /v1/exports/audit.csv: admin compliance
GET /v1/reports/{name}.csv: admin editor analyst compliance
GET /v1/reports/{name}: admin editor analyst compliance
GET /v1/feed: admin analyst
PUT /v1/contacts/{contact_id}/processing-status: admin editor
PUT /v1/contacts/{contact_id}/consent: admin editor service
PUT /v1/contacts/{contact_id}/site-account: admin editor service
POST /v1/contacts/{contact_id}/site-account/unlock: admin editor
POST /v1/groups: admin editor
GET /v1/groups: admin editor analyst compliance
POST /v1/groups/{group_id}/members: admin editor
GET /v1/groups/{group_id}/members: admin editor analyst compliance
POST /v1/contacts/{contact_id}/notes: admin editor
POST /v1/forms/{form}/submissions: admin editor service
POST /v1/contacts/{contact_id}/site-account/password-reset: admin editor service
GET /v1/outbox: admin service
POST /v1/outbox/{message_id}/ack: admin service
POST /v1/bulk: admin editor
GET /v1/jobs/{job_id}: admin editor
POST /v1/imports: admin editor
GET /v1/imports/{import_id}: admin editor
GET /v1/imports/{import_id}/report.csv: admin editor
POST /v1/contacts/{contact_id}/merge: admin editor
"""
ROLES = ("admin", "editor", "analyst", "compliance", "service")


def intended() -> dict[str, set[str]]:
    lines = [line.partition(": ") for line in MATRIX.strip().splitlines()]
    return {route: set(roles.split()) for route, _, roles in lines}


def declared() -> dict[str, set[str]]:
    return {f"{e.method} {e.path}": {r.value for r in e.roles} for e in ENDPOINTS}


def test_every_route_is_in_the_matrix_with_its_intended_roles() -> None:
    assert declared() == intended()


def test_the_documented_matrix_is_the_declared_one() -> None:
    document = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    section = document.partition(START)[2].partition(END)[0]
    assert section.strip() == role_matrix(ENDPOINTS).strip(), (
        "docs/api.md is stale: run `python -m adapters.http.roles`"
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def module_api(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Api]:
    """As tests/http/conftest.py's, but this module's many bad tokens are not throttled."""
    _require(request.param)
    folder = tmp_path_factory.mktemp(request.param)
    with running_api(request.param, folder, auth_failure_limit=0) as api_:
        yield api_


def _call(api: Api, route: str, role: str | None, resources: dict[str, str], **headers: str) -> Any:
    method, path = route.split(" ", 1)
    for name, value in resources.items():
        path = path.replace("{" + name + "}", value)
    headers |= api.as_(role) if role else {}
    params = {"confirm": "DELETE"} if route == "DELETE /v1/contacts/{contact_id}" else None
    body = BODIES.get(route.split(" ", 1)[1].rsplit("/", 1)[-1], BODIES["*"])
    json_body = body(resources) if method in ("POST", "PUT", "PATCH") else None
    return api.client.request(method, path, headers=headers, params=params, json=json_body)


@pytest.mark.parametrize("route", sorted(intended()))
def test_each_route_lets_in_exactly_its_roles(module_api: Api, route: str) -> None:
    """403 for the others; 401 without a token or with a bad one (before any lookup)."""
    missing = dict.fromkeys(
        ("event_id", "participant_id", "contact_id", "group_id", "view_id", "job_id"),
        "00000000-0000-0000-0000-000000000000",
    )
    missing |= {"message_id": missing["job_id"], "import_id": missing["job_id"], "form": "contact"}
    api = module_api
    before = api.system.ledger.recorder.max_notification_id()
    for role in ROLES:
        answer = _call(api, route, role, missing)
        if role in intended()[route]:
            assert answer.status_code not in (401, 403), (route, role, answer.status_code)
        else:
            assert answer.status_code == 403, (route, role, answer.status_code)
            _says_who_may(answer.json()["detail"], role, intended()[route])
    assert _call(api, route, None, missing).status_code == 401
    bad = {"Authorization": "Bearer clt_not-a-token"}
    method, path = route.split(" ", 1)
    assert api.client.request(method, path, headers=bad).status_code == 401
    written = api.system.ledger.recorder.max_notification_id()
    assert written == before or route in CREATING, route  # refused calls wrote nothing


# A refusal reads as a sentence: the role, what it may not do (a verb first) and who may.
REFUSAL = re.compile(r"role '(\w+)' may not ([a-z]+) [^;]+; roles that may: ([a-z, ]+)")
# fmt: off
VERBS = {"read", "list", "change", "replace", "define", "create", "register", "edit",
         "delete", "sync", "export", "save", "restore", "erase", "query", "follow", "set",
         "give", "record", "unlock", "add", "write", "take", "ask", "acknowledge", "run",
         "import", "merge"}
# fmt: on


def _says_who_may(detail: str, role: str, allowed: set[str]) -> None:
    said = REFUSAL.fullmatch(detail)
    assert said is not None, detail
    assert said[1] == role and said[2] in VERBS, detail
    assert said[3].split(", ") == [r for r in ROLES if r in allowed], detail


# Valid bodies: a refusal on another account's ids must come from the ownership check,
# not from the body's validation.
BODIES: dict[str, Any] = {
    "settings": lambda r: {"uniqueness_key": ["email"]},
    "fields": lambda r: {"name": "diet", "type": "text", "label": "Diet"},
    "events": lambda r: {"name": "Salon"},
    "sync": lambda r: {"enabled": True, "scope": "all"},
    "backfill": lambda r: {},
    "participants": lambda r: {"fields": {"email": "new@example.org"}},
    "{participant_id}": lambda r: {"fields": {"company": "Other"}},
    "status": lambda r: {"status": "attended"},
    "views": lambda r: {"name": "Mine", "event_id": r["event_id"]},
    "{contact_id}": lambda r: {"fields": {"company": "Other"}},
    "processing-status": lambda r: {"status": "processed"},
    "consent": lambda r: {"given": True, "source": "form"},
    "site-account": lambda r: {"confirmed": True},
    "groups": lambda r: {"name": "Mine"},
    "members": lambda r: {"contact_ids": [r["contact_id"]]},
    "notes": lambda r: {"text": "a note"},
    "submissions": lambda r: {"fields": {"email": "new@example.org"}},
    "ack": lambda r: {"outcome": "sent"},
    "merge": lambda r: {"merge_id": "00000000-0000-0000-0000-0000000000aa"},
    "bulk": lambda r: {
        "action": "add_to_group",
        "params": {"group_id": r["group_id"]},
        "selection": {"contact_ids": [r["contact_id"]]},
    },
    "*": lambda r: {},
}
SHARED = {"form", "name"}  # path parameters that name no resource of the account
# Routes that create in the caller's own account (no foreign id in their path).
CREATING = {
    "PUT /v1/settings",
    "PATCH /v1/settings",
    "POST /v1/fields",
    "POST /v1/events",
    "POST /v1/groups",
    "POST /v1/forms/{form}/submissions",
}
# Writes without an id in their path that take ids in their body: each is called with
# another account's ids in `test_ids_of_another_account_in_a_body_answer_404_and_write_nothing`.
BODY_IDS = {"POST /v1/views", "POST /v1/bulk", "POST /v1/imports"}


def _names(route: str) -> set[str]:
    return set(PATH_NAME.findall(route)) - SHARED


PATH_NAME = re.compile(r"{(\w+)}")


def owned() -> list[str]:
    """Routes naming a resource of the account in their path: 404 for another account."""
    return [f"{e.method} {e.path}" for e in ENDPOINTS if _names(e.path)]


def own_reads() -> list[str]:
    """Reads naming no resource (lists, grids, exports, reports): the caller's own data."""
    return [f"{e.method} {e.path}" for e in ENDPOINTS if e.method == "GET" and not _names(e.path)]


def test_every_route_is_checked_against_another_accounts_token() -> None:
    """A new route cannot be missed: each falls in exactly one isolation check."""
    writes = {f"{e.method} {e.path}" for e in ENDPOINTS if e.writes and not _names(e.path)}
    assert writes == CREATING | BODY_IDS, "classify the new write route here"
    groups = [set(owned()), set(own_reads()), CREATING, BODY_IDS]
    assert sum(len(g) for g in groups) == len(ENDPOINTS)
    assert set().union(*groups) == set(declared())


def seeded(api: Api) -> dict[str, str]:
    """One of each resource in `api`'s account."""
    event_id = an_event(api)
    participant = ok(register(api, event_id, email="ada@example.org"), 201)
    contact_id = ok(api.call("GET", f"/v1/events/{event_id}/participants/{participant['id']}"))[
        "contact_id"
    ]
    group_id = ok(api.call("POST", "/v1/groups", json={"name": "VIP"}), 201)["id"]
    view_id = ok(api.call("POST", "/v1/views", json={"name": "All"}), 201)["id"]
    consent = {"given": True, "source": "form"}
    ok(api.call("PUT", f"/v1/contacts/{contact_id}/consent", json=consent))
    asked = api.call("POST", f"/v1/contacts/{contact_id}/site-account/password-reset")
    message_id = ok(asked, 202)["id"]
    bulk = {
        "action": "set_processing_status",
        "params": {"status": "in_progress"},
        "selection": {"contact_ids": [contact_id]},
    }
    job_id = ok(api.call("POST", "/v1/bulk", json=bulk), 202)["id"]
    ok(api.call("GET", "/v1/outbox", params={"after": asked.headers["X-Position"]}))
    people = csv_bytes([["email"], ["grace@example.org"]])
    mapping = json.dumps({"email": "email"})
    sent = {"file": ("people.csv", people)}
    import_id = ok(api.call("POST", "/v1/imports", files=sent, data={"mapping": mapping}), 202)
    import_id = import_id["id"]
    deadline = time.monotonic() + 30
    for job in (job_id, import_id):
        while ok(api.call("GET", f"/v1/jobs/{job}"))["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return {
        "event_id": event_id,
        "participant_id": participant["id"],
        "contact_id": contact_id,
        "group_id": group_id,
        "view_id": view_id,
        "message_id": message_id,
        "job_id": job_id,
        "import_id": import_id,
        "form": "contact",
        "name": "growth",
    }


def test_another_accounts_resources_answer_404_on_every_route(api: Api, other_account: Api) -> None:
    theirs = seeded(api)
    head = api.system.ledger.recorder.max_notification_id()
    assert len(owned()) >= 30
    for route in owned():
        answer = _call(other_account, route, "admin", theirs)
        assert answer.status_code == 404, (route, answer.status_code, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert api.system.ledger.recorder.max_notification_id() == head  # nothing was written


def test_another_accounts_data_never_shows_in_lists_grids_or_exports(
    api: Api, other_account: Api
) -> None:
    theirs = seeded(api)
    head = str(api.system.ledger.recorder.max_notification_id())
    listing = own_reads()
    assert {"GET /v1/reports/{name}", "GET /v1/reports/{name}.csv"} <= set(listing)
    secrets = [v for k, v in theirs.items() if k not in SHARED] + ["ada@example.org"]
    for route in listing:
        path = route.split(" ", 1)[1].replace("{name}", theirs["name"])
        answer = other_account.client.get(
            path, headers=other_account.as_("admin"), params={"after": head}
        )
        assert answer.status_code == 200, (route, answer.text)
        text = answer.content.decode("utf-8", "replace")
        for secret in secrets:
            assert secret not in text, (route, secret)


def test_ids_of_another_account_in_a_body_answer_404_and_write_nothing(
    api: Api, other_account: Api
) -> None:
    theirs = seeded(api)
    mine = an_event(other_account)
    version = ok(api.call("GET", f"/v1/contacts/{theirs['contact_id']}"))["version"]
    group_id = ok(other_account.call("POST", "/v1/groups", json={"name": "Mine"}), 201)["id"]
    refused = [
        ("POST", "/v1/views", {"name": "Theirs", "event_id": theirs["event_id"]}),
        ("POST", f"/v1/groups/{group_id}/members", {"contact_ids": [theirs["contact_id"]]}),
        (
            "POST",
            "/v1/bulk",
            {
                "action": "add_to_group",
                "params": {"group_id": theirs["group_id"]},
                "selection": {"contact_ids": [theirs["contact_id"]]},
            },
        ),
        (
            "POST",
            "/v1/bulk",
            {"action": "backfill", "params": {"event_id": theirs["event_id"]}},
        ),
        (
            "POST",
            "/v1/bulk",
            {
                "action": "set_processing_status",
                "params": {"status": "new"},
                "selection": {"view": {"event_id": theirs["event_id"]}},
            },
        ),
        (
            "PUT",
            f"/v1/events/{mine}/sync",
            {"enabled": True, "scope": "segment", "segment": {"group": theirs["group_id"]}},
        ),
    ]
    form = {"fields": {"email": "bob@example.org"}}
    own = ok(other_account.call("POST", "/v1/forms/contact/submissions", json=form), 201)
    refused.append(
        ("POST", f"/v1/contacts/{own['contact_id']}/merge", {"merge_id": theirs["contact_id"]})
    )
    for method, path, body in refused:
        answer = other_account.call(method, path, json=body)
        assert answer.status_code in (404, 422), (path, body, answer.text)
    people = {"file": ("people.csv", csv_bytes([["email"], ["eve@example.org"]]))}
    into_theirs = {"event_id": theirs["event_id"], "mapping": json.dumps({"email": "email"})}
    answer = other_account.call("POST", "/v1/imports", files=people, data=into_theirs)
    assert answer.status_code == 404, answer.text
    filtered = other_account.call("GET", "/v1/contacts", params={"group_id": theirs["group_id"]})
    assert filtered.status_code == 404
    # A bulk job naming their contact ids skips them as not found: nothing of theirs moves.
    body = {
        "action": "set_processing_status",
        "params": {"status": "processed"},
        "selection": {"contact_ids": [theirs["contact_id"]]},
    }
    job = ok(other_account.call("POST", "/v1/bulk", json=body), 202)
    deadline = time.monotonic() + 30
    while (seen := ok(other_account.call("GET", f"/v1/jobs/{job['id']}")))["status"] != "done":
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
    assert seen["report"] == [{"contact_id": theirs["contact_id"], "reason": "not found"}]
    contact = ok(api.call("GET", f"/v1/contacts/{theirs['contact_id']}"))
    assert contact["processing_status"] == "in_progress"
    assert contact["version"] == version


def test_every_conditional_route_refuses_a_stale_version_with_412(api: Api) -> None:
    mine = seeded(api)
    conditional = [f"{e.method} {e.path}" for e in ENDPOINTS if e.conditional]
    assert len(conditional) >= 13
    head = api.system.ledger.recorder.max_notification_id()
    for route in conditional:
        answer = _call(api, route, "admin", mine, **{"If-Match": '"9999"'})
        assert answer.status_code == 412, (route, answer.status_code, answer.text)
        assert "9999" in answer.json()["detail"]
    assert api.system.ledger.recorder.max_notification_id() == head
