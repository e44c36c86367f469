"""One access line per request (JSON with LEDGER_LOG_FORMAT=json): method, route template,
status, duration and correlation id; never the path as sent, its query or a body."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.logs import json_formatter, log_config
from adapters.settings import Settings, SettingsError
from tests.http.conftest import Api
from tests.http.test_routes import an_event

EMAIL = "ada.lovelace@example.org"


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """What the service's JSON handler writes, from every logger."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter())
    # the test client's own request lines are not the service's
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_request_is_one_json_line_without_personal_data(api: Api, logged: io.StringIO) -> None:
    event_id = an_event(api)
    body = {"fields": {"email": EMAIL, "first_name": "Ada"}, "status": "registered"}
    written = api.call(
        "POST",
        f"/v1/events/{event_id}/participants",
        json=body,
        headers={"X-Request-Id": "signup-42"},
    )
    assert written.status_code == 201, written.text
    assert written.headers["x-request-id"] == "signup-42"
    found = api.call("GET", f"/v1/contacts?q={EMAIL}&after={written.headers['x-position']}")
    assert found.json()["total"] == 1
    access = [line for line in lines(logged) if line["logger"] == "contact_ledger.access"]
    post, get = access[-2:]
    assert post["method"] == "POST"
    assert post["route"] == "/v1/events/{event_id}/participants"
    assert post["status"] == 201
    assert post["correlation_id"] == "signup-42"
    assert isinstance(post["duration_ms"], float)
    assert {get["route"], get["status"]} == {"/v1/contacts", 200}
    assert get["correlation_id"] == found.headers["x-request-id"]
    assert "example.org" not in logged.getvalue(), logged.getvalue()
    assert str(event_id) not in logged.getvalue()  # the template, not the path as sent


def test_the_correlation_id_is_the_one_recorded_in_the_events(api: Api) -> None:
    answer = api.call("POST", "/v1/events", json={"name": "Salon", "kind": "event"},
                      headers={"X-Request-Id": "created-by-test"})  # fmt: skip
    recorded = api.system.ledger.recorder.select_notifications(start=1, limit=1000)[-1]
    event = api.system.ledger.mapper.to_domain_event(recorded)
    assert answer.headers["x-request-id"] == "created-by-test"
    assert event.meta.correlation_id == "created-by-test"


def test_a_request_id_that_is_not_a_plain_token_is_replaced(api: Api) -> None:
    answer = api.client.get("/health", headers={"X-Request-Id": EMAIL + " <script>"})
    assert answer.headers["x-request-id"] != EMAIL + " <script>"
    assert len(answer.headers["x-request-id"]) == 36


def test_the_log_format_is_text_or_json() -> None:
    base = {"LEDGER_SECRET": "s" * 32}
    assert Settings.from_env(base).log_format == "text"
    assert Settings.from_env({**base, "LEDGER_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="LEDGER_LOG_FORMAT must be text or json"):
        Settings.from_env({**base, "LEDGER_LOG_FORMAT": "xml"})
    assert log_config("json")["formatters"]["default"] == {"()": "adapters.logs.json_formatter"}
