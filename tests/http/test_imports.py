"""Imports over HTTP (F19): upload, job, counts, per-row report; refusals write nothing."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from tests.http.conftest import Api, running_api
from tests.http.test_contact_work import a_group
from tests.http.test_routes import an_event, ok, problem
from tests.support.sheets import csv_bytes, xlsx_bytes

HEADERS = ["E-mail", "Prénom", "Nom", "Société"]
PEOPLE = [
    ["ada@example.org", "Ada", "Lovelace", "Analytical"],
    ["grace@example.org", "Grace", "Hopper", "Navy"],
]
MAPPING = {"E-mail": "email", "Prénom": "first_name", "Nom": "last_name", "Société": "company"}


def upload(
    api: Api,
    content: bytes,
    name: str = "people.xlsx",
    role: str = "editor",
    **fields: Any,
) -> Any:
    data = {k: json.dumps(v) if k == "mapping" else str(v) for k, v in fields.items()}
    return api.call("POST", "/v1/imports", role, files={"file": (name, content)}, data=data)


def imported(api: Api, answer: Any) -> dict[str, Any]:
    """The import of a 202 answer, once it has ended."""
    started = ok(answer, 202)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seen = ok(api.call("GET", f"/v1/imports/{started['id']}", "editor"))
        if seen["status"] not in ("queued", "running"):
            return seen  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"import {started['id']} did not end: {seen}")


def counts(report: dict[str, Any]) -> tuple[int, int, int, int]:
    return report["created"], report["updated"], report["unchanged"], report["skipped"]


def head(api: Api) -> int:
    return api.system.ledger.recorder.max_notification_id() or 0


def test_a_workbook_imports_into_an_event_and_again_changes_nothing(api: Api) -> None:
    event_id = an_event(api)
    content = xlsx_bytes([HEADERS, *PEOPLE])
    report = imported(api, upload(api, content, event_id=event_id, mapping=MAPPING))
    assert report["status"] == "done", report
    assert counts(report) == (2, 0, 0, 0)
    assert (report["total"], report["processed"]) == (2, 2)
    assert report["event_id"] == event_id and report["mapping"] == MAPPING
    grid = ok(api.call("GET", f"/v1/events/{event_id}/participants", params={"after": head(api)}))
    assert sorted(p["fields"]["first_name"] for p in grid["items"]) == ["Ada", "Grace"]
    position = head(api)
    again = imported(api, upload(api, content, event_id=event_id, mapping=MAPPING))
    assert counts(again) == (0, 0, 2, 0)
    assert head(api) == position  # no new events


def test_the_report_lists_every_row_and_why_rows_were_skipped(api: Api) -> None:
    event_id = an_event(api)
    rows = [
        HEADERS,
        PEOPLE[0],
        [None, None, None, None],
        ["not-an-email", "X", "Y", "Z"],
        [None, "No", "Email", "Co"],
        ['=CONCAT("a","@b.org")', "F", "G", "H"],
        PEOPLE[1],
        [None, None, None, None],  # trailing: not a data row
    ]
    report = imported(api, upload(api, xlsx_bytes(rows), event_id=event_id, mapping=MAPPING))
    assert counts(report) == (2, 0, 0, 4)
    reasons = {row["row"]: row["reason"] for row in report["rows"]}
    assert reasons[3] == "empty row"
    assert reasons[4] == "field 'email': is not an email address"
    assert reasons[5] == "no identifier: email is empty"
    assert reasons[6].startswith("column 'E-mail': a formula, where the import takes values")
    answer = api.call("GET", report["report"], "editor")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.text)))
    assert lines[0] == ["row", "outcome", "id", "reason"]
    assert [(line[0], line[1]) for line in lines[1:]] == [
        ("2", "created"),
        ("3", "skipped"),
        ("4", "skipped"),
        ("5", "skipped"),
        ("6", "skipped"),
        ("7", "created"),
    ]
    assert "not-an-email" not in answer.text


def test_a_french_csv_imports_contacts_into_a_group(api: Api) -> None:
    group_id = a_group(api)
    content = csv_bytes([HEADERS, *PEOPLE, ["zoé@example.org", "Zoé", "Ëlle", "Société Générale"]],
                        delimiter=";", encoding="cp1252")  # fmt: skip
    report = imported(api, upload(api, content, "contacts.csv", mapping=MAPPING, group_id=group_id))
    assert counts(report) == (3, 0, 0, 0), report
    members = ok(api.call("GET", f"/v1/groups/{group_id}/members", params={"after": head(api)}))
    assert len(members["items"]) == 3
    found = ok(api.call("GET", "/v1/contacts", params={"q": "Zoé", "after": head(api)}))
    assert found["items"][0]["fields"]["company"] == "Société Générale"


def test_update_only_and_create_only(api: Api) -> None:
    event_id = an_event(api)
    first = xlsx_bytes([HEADERS, PEOPLE[0]])
    imported(api, upload(api, first, event_id=event_id, mapping=MAPPING))
    both = xlsx_bytes([HEADERS, [*PEOPLE[0][:3], "Babbage"], PEOPLE[1]])
    updated = imported(
        api, upload(api, both, event_id=event_id, mapping=MAPPING, mode="update_only")
    )
    assert counts(updated) == (0, 1, 0, 1)
    created = imported(
        api, upload(api, both, event_id=event_id, mapping=MAPPING, mode="create_only")
    )
    assert counts(created) == (1, 0, 0, 1)


def test_without_a_mapping_the_answer_suggests_one(api: Api) -> None:
    event_id = an_event(api)
    answer = problem(upload(api, xlsx_bytes([HEADERS, *PEOPLE]), event_id=event_id), 422)
    assert answer["columns"] == HEADERS
    assert answer["suggested_mapping"] == MAPPING


def test_refused_files_and_requests_write_nothing(api: Api, other_account: Api) -> None:
    event_id = an_event(api)
    their_event, their_group = an_event(other_account), a_group(other_account)
    position = head(api)
    good = xlsx_bytes([HEADERS, *PEOPLE])
    cases = [
        (xlsx_bytes([HEADERS], [HEADERS], titles=("Inscrits", "Exposants")), {}, "2 sheets"),
        (xlsx_bytes([["E-mail", "Nom", "nom "], PEOPLE[0][:3]]), {}, "duplicate column"),
        (xlsx_bytes([PEOPLE[0], PEOPLE[1]]), {}, "column titles"),
        (b"", {}, "empty"),
        (good, {"mapping": {"Courriel": "email"}}, "no column 'Courriel'"),
        (good, {"mapping": {"Nom": "last_name"}}, "identifier column is required"),
        (good, {"mapping": {"E-mail": "shoe_size"}}, "no field named 'shoe_size'"),
        (good, {"mode": "replace"}, "mode"),
        (good, {"status": "attended"}, "status"),
    ]
    for content, changes, expected in cases:
        fields = {"event_id": event_id, "mapping": MAPPING, **changes}
        answer = problem(upload(api, content, **fields), 422)
        assert expected in answer["detail"], (expected, answer)
    problem(api.call("POST", "/v1/imports", "editor", json={"mapping": "{}"}), 422)
    no_file = api.call("POST", "/v1/imports", "editor", data={"mapping": json.dumps(MAPPING)},
                       files={"other": ("x.csv", b"a")})  # fmt: skip
    assert "'other' must be a value, not a file" in problem(no_file, 422)["detail"]
    form = api.call("POST", "/v1/imports", "editor", data={"mapping": json.dumps(MAPPING)})
    assert "multipart/form-data" in problem(form, 422)["detail"]
    problem(upload(api, good, mapping="not json"), 422)
    problem(upload(api, good, event_id=their_event, mapping=MAPPING), 404)
    problem(upload(api, good, group_id=their_group, mapping=MAPPING), 404)
    problem(upload(api, good, role="analyst", mapping=MAPPING), 403)
    assert head(api) == position
    with api.system.runtime.jobs.engine.connect() as connection:  # no file, no job kept
        assert connection.exec_driver_sql("SELECT count(*) FROM import_files").scalar() == 0
        assert connection.exec_driver_sql("SELECT count(*) FROM jobs").scalar() == 0


def test_an_upload_over_the_limit_is_413(tmp_path: Any, db_kind: str) -> None:
    with running_api(db_kind, tmp_path, max_upload_bytes=1000) as api:
        answer = upload(api, xlsx_bytes([HEADERS, *PEOPLE * 50]), mapping=MAPPING)
        assert problem(answer, 413)["detail"] == "the upload is larger than 1000 bytes"


def test_an_import_is_seen_only_in_its_account(api: Api, other_account: Api) -> None:
    report = imported(api, upload(api, xlsx_bytes([HEADERS, *PEOPLE]), mapping=MAPPING))
    problem(other_account.call("GET", f"/v1/imports/{report['id']}"), 404)
    problem(other_account.call("GET", report["report"]), 404)
    job = ok(api.call("GET", f"/v1/jobs/{report['id']}", "editor"))
    assert (job["action"], job["changed"]) == ("import", 2)
    bulk = {"action": "set_processing_status", "params": {"status": "processed"},
            "selection": {"view": {}}}  # fmt: skip
    other_job = ok(api.call("POST", "/v1/bulk", json=bulk), 202)["id"]
    assert "not found" in problem(api.call("GET", f"/v1/imports/{other_job}"), 404)["detail"]
