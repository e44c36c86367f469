"""Schemathesis drives every operation of /openapi.json through the real app.

No 5xx anywhere, and every answer conforms to the document: documented status, content
type, headers and body. Path parameters name real resources most of the time (a seeded
event, participant, contact, group and view), so the handlers run past their 404s.
Bounded and reproducible: a fixed seed, derandomized, a few examples per operation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from tests.http.conftest import Api, running_api

SEED = 20_250_311
REAL_ID_PROBABILITY = 0.8
# Strings that break storage or rendering elsewhere (NUL in PostgreSQL text, a right-to-left
# override, astral planes, one past the text limit, SQL and format metacharacters).
TRICKY = ["a\x00b", "\x00", " ", "\u202eevil", "𝔘𝔫𝔦", "x" * 1_001, "'; DROP TABLE x; --", "%s%n"]
TRICKY_PROBABILITY = 0.15
TRICKY_BODY_STRINGS = ("name", "label", "source", "fields.first_name", "fields.company")
# SQLite: every phase, valid and invalid input (the coverage phase's boundary values mostly
# end in 422 before storage). PostgreSQL: more valid input, what reaches its storage.
GENERATION = {
    "sqlite": ({"max-examples": 8, "mode": "all"}, True),
    "postgres": ({"max-examples": 25, "mode": "positive"}, False),
}


def _seed(api: Api) -> dict[str, str]:
    """A little of everything, and the ids the path parameters should hit."""

    def ok(method: str, path: str, body: dict[str, Any]) -> Any:
        response = api.call(method, path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    event = ok("POST", "/v1/events", {"name": "Salon 2025", "kind": "event"})["id"]
    ok("PUT", f"/v1/events/{event}/sync", {"enabled": True, "scope": "all"})
    fields = {"email": "ada@example.org", "first_name": "Ada", "last_name": "Lovelace"}
    participant = ok("POST", f"/v1/events/{event}/participants", {"fields": fields})
    group = ok("POST", "/v1/groups", {"name": "VIP"})["id"]
    ok("POST", f"/v1/groups/{group}/members", {"contact_ids": [participant["contact_id"]]})
    view = ok("POST", "/v1/views", {"name": "Everyone"})["id"]
    return {
        "event_id": event,
        "participant_id": participant["id"],
        "contact_id": participant["contact_id"],
        "group_id": group,
        "view_id": view,
    }


def _config(api: Api, kind: str, ids: dict[str, str]) -> SchemathesisConfig:
    generation, coverage = GENERATION[kind]
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "auth": {"openapi": {"bearer": {"bearer": api.tokens["admin"]}}},
            "generation": {
                **generation,
                "deterministic": True,
                "database": "none",
                "dictionaries": {
                    "string": {"dictionary": "tricky", "probability": TRICKY_PROBABILITY}
                },
            },
            "phases": {"coverage": {"enabled": coverage}},
            "checks": {
                # 504 is the specified answer to an `after` the read side has not reached;
                # `only_waits_time_out` below allows it for nothing else.
                "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "504"]},
                # Off, see docs/decisions/0018: valid JSON can break a business rule (422).
                "positive_data_acceptance": {"enabled": False},
            },
            "dictionaries": {
                "tricky": {"values": TRICKY},
                **{name: {"values": [value]} for name, value in ids.items()},
            },
            "parameters": {
                **{
                    f"path.{name}": {"dictionary": name, "probability": REAL_ID_PROBABILITY}
                    for name in ids
                },
                **{
                    f"body.{path}": {"dictionary": "tricky", "probability": TRICKY_PROBABILITY}
                    for path in TRICKY_BODY_STRINGS
                },
            },
        }
    )


@pytest.fixture
def seeded_api(db_kind: str, tmp_path: Path) -> Iterator[Api]:
    # Short waits: generated `after` positions lie in the future and answer 504, and a
    # generated `wait` (up to 30 s) on the change feed is cut to 0.05 s. Schemathesis's
    # probes with a wrong token must not throttle the generated cases into 429s.
    changes: dict[str, Any] = {"read_wait_seconds": 0.05, "feed_wait_seconds": 0.05}
    with running_api(db_kind, tmp_path, auth_failure_limit=0, **changes) as api:
        yield api
        _assert_read_side_keeps_up(api)


@pytest.fixture
def fuzzed_api(seeded_api: Api, db_kind: str) -> Any:
    config = _config(seeded_api, db_kind, _seed(seeded_api))
    return schemathesis.openapi.from_asgi("/openapi.json", seeded_api.system.http, config=config)


schema = schemathesis.pytest.from_fixture("fuzzed_api")


def only_waits_time_out(_ctx: Any, response: Any, case: Any) -> None:
    """A 504 answers nothing but a read that waits for `after`."""
    if response.status_code == 504:
        assert "after" in (case.query or {}), f"504 without ?after=: {response.text}"


@schema.parametrize()
def test_every_operation_answers_as_documented(case: Any, seeded_api: Api) -> None:
    case.call_and_validate(additional_checks=[only_waits_time_out])
    for projector in seeded_api.system.projectors.values():  # fail-stop on what was accepted?
        assert projector.error is None, f"{case.operation.label} stopped a projector"


def _assert_read_side_keeps_up(api: Api) -> None:
    """Whatever the API accepted, every projection can apply (fail-stop would say why)."""
    head = api.system.ledger.recorder.max_notification_id() or 0
    for projector in api.system.projectors.values():
        deadline = time.monotonic() + 30
        while projector.error is None and projector.store.position() < head:
            assert time.monotonic() < deadline, f"{projector.store.name} is stuck"
            time.sleep(0.05)
        assert projector.error is None
