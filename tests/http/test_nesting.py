"""Deeply nested JSON from the client, at every entry point that parses JSON: a 4xx problem,
never a RecursionError (500)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters.cli import main
from adapters.http.json_input import MAX_DEPTH, JsonInputError, parse_json
from adapters.http.routes import ENDPOINTS
from app import build_system
from tests.http.conftest import Api
from tests.http.test_routes import an_event, problem
from tests.support.sheets import csv_bytes

DEEP = 100_000
# A query string is capped at 64 KiB, percent-encoded, by the test client (servers cap it
# lower): still past Python's recursion limit (1,000).
QUERY_DEEP = 2_000
ZERO = "00000000-0000-0000-0000-000000000000"
SHAPES = {
    "arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "in a field": '{"fields":' + "[" * DEEP + "]" * DEEP + "}",
    "mixed": '{"a":[' * (DEEP // 2) + "]}" * (DEEP // 2),
    "unclosed": "[" * DEEP,
}


def _path(template: str) -> str:
    for name in ("form", "name"):
        template = template.replace("{" + name + "}", "contact")
    for segment in template.split("/"):
        if segment.startswith("{"):
            template = template.replace(segment, ZERO)
    return template


JSON_BODIES = [e for e in ENDPOINTS if e.body is not None and not e.upload]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_json_body_refuses_deep_nesting_with_a_problem(module_api: Api, shape: str) -> None:
    assert len(JSON_BODIES) >= 20
    for endpoint in JSON_BODIES:
        answer = module_api.call(
            endpoint.method,
            _path(endpoint.path),
            content=SHAPES[shape].encode(),
            headers={"Content-Type": "application/json"},
        )
        problem(answer, 422)
        if shape != "unclosed":
            assert "deeper than" in answer.json()["detail"], (endpoint.path, answer.text)


def test_the_participant_body_of_the_issue_is_422(module_api: Api) -> None:
    event_id = an_event(module_api)
    deep = '{"fields":' + "[" * DEEP + "]" * DEEP + "}"
    answer = module_api.call("POST", f"/v1/events/{event_id}/participants", content=deep.encode())
    assert f"deeper than {MAX_DEPTH} levels" in problem(answer, 422)["detail"]


@pytest.mark.parametrize(
    "path", ["/v1/contacts", "/v1/exports/contacts.csv", "/v1/events/{event_id}/participants"]
)
def test_a_deep_grid_filter_is_422(module_api: Api, path: str) -> None:
    path = path.replace("{event_id}", an_event(module_api, sync=False))
    deep = '{"not":' * QUERY_DEEP + "{}" + "}" * QUERY_DEEP
    answer = module_api.call("GET", path, params={"filter": deep})
    assert "filter nests" in problem(answer, 422)["detail"]


@pytest.mark.parametrize("path", ["/v1/contacts", "/v1/audit"])
def test_a_deep_cursor_is_422(module_api: Api, path: str) -> None:
    deep = "[" * 5 * QUERY_DEEP + "]" * 5 * QUERY_DEEP
    cursor = base64.urlsafe_b64encode(deep.encode()).decode()
    problem(module_api.call("GET", path, params={"cursor": cursor}), 422)


def test_a_deep_import_mapping_is_422(module_api: Api) -> None:
    people = csv_bytes([["email"], ["grace@example.org"]])
    answer = module_api.call(
        "POST",
        "/v1/imports",
        files={"file": ("people.csv", people)},
        data={"mapping": SHAPES["objects"]},
    )
    assert "mapping nests" in problem(answer, 422)["detail"]


def test_a_deep_sync_segment_is_422(module_api: Api) -> None:
    event_id = an_event(module_api, sync=False)
    body = '{"enabled": true, "scope": "segment", "segment": ' + SHAPES["objects"] + "}"
    answer = module_api.call("PUT", f"/v1/events/{event_id}/sync", content=body.encode())
    problem(answer, 422)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_is_parsed_and_one_more_is_refused() -> None:
    assert parse_json(_nested(MAX_DEPTH)) is not None
    assert parse_json(json.dumps({"a": json.loads(_nested(MAX_DEPTH - 1))}))
    with pytest.raises(JsonInputError, match="deeper than"):
        parse_json(_nested(MAX_DEPTH + 1))
    with pytest.raises(JsonInputError, match="deeper than"):
        parse_json(json.dumps({"a": json.loads(_nested(MAX_DEPTH))}))


def test_a_nul_anywhere_is_refused_even_in_a_key() -> None:
    with pytest.raises(JsonInputError, match="NUL"):
        parse_json('{"a": [{"b\\u0000": 1}]}')
    with pytest.raises(JsonInputError, match="NUL"):
        parse_json('[["x\\u0000"]]')


def test_a_deep_mapping_on_the_command_line_is_a_readable_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    runner = CliRunner()
    account = runner.invoke(main, ["accounts", "create", "Org"], obj=build_system).output.strip()
    sheet = tmp_path / "people.csv"
    sheet.write_bytes(csv_bytes([["email"], ["grace@example.org"]]))
    args = ["import", str(sheet), "--account", account, "--contacts"]
    result = runner.invoke(main, [*args, "--mapping", SHAPES["objects"]], obj=build_system)
    assert result.exit_code == 2, result.output
    assert "must be a JSON object" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
