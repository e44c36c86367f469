"""`GET /metrics`: Prometheus text for the scrape token only; requests by route template
and status, durations, each read model's lag, jobs by state, imported rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.http.conftest import Api, running_api
from tests.http.test_imports import HEADERS, MAPPING, PEOPLE, imported, upload
from tests.http.test_routes import an_event
from tests.support.sheets import csv_bytes

TOKEN = "scrape-token-of-at-least-32-characters"
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def scraped(tmp_path: Path, db_kind: str) -> Iterator[Api]:
    with running_api(db_kind, tmp_path, metrics_token=TOKEN) as api_:
        yield api_


def samples(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = api.client.get("/metrics", headers=SCRAPE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_are_off_until_a_scrape_token_is_set(api: Api) -> None:
    answer = api.client.get("/metrics", headers=api.as_("admin"))
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert "LEDGER_METRICS_TOKEN" in answer.json()["detail"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}"])
def test_only_the_scrape_token_reads_metrics(scraped: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = scraped.client.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    # an account's token is not the scrape token: metrics cover every account
    assert scraped.client.get("/metrics", headers=scraped.as_("admin")).status_code == 401


def test_requests_are_counted_by_route_template_and_status(scraped: Api) -> None:
    for _ in range(3):
        scraped.call("GET", f"/v1/contacts/{uuid4()}")
    scraped.call("GET", "/v1/contacts?q=ada@example.org")
    scraped.client.get("/no/such/page")
    seen = samples(scraped)
    one = (("method", "GET"), ("route", "/v1/contacts/{contact_id}"), ("status", "404"))
    assert seen[("ledger_http_requests_total", one)] == 3
    listed = (("method", "GET"), ("route", "/v1/contacts"), ("status", "200"))
    assert seen[("ledger_http_requests_total", listed)] == 1
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert seen[("ledger_http_requests_total", unmatched)] == 1
    timed = (("method", "GET"), ("route", "/v1/contacts/{contact_id}"))
    assert seen[("ledger_http_request_duration_seconds_count", timed)] == 3
    assert not any("example.org" in value for _, labels in seen for _, value in labels)


def test_each_read_model_has_its_position_and_lag(scraped: Api) -> None:
    an_event(scraped)
    seen = samples(scraped)
    head = seen[("ledger_log_head", ())]
    assert head == scraped.system.ledger.recorder.max_notification_id()
    assert seen[("ledger_database_up", ())] == 1
    for name in ("grid", "audit", "outbox", "reports"):
        position = seen[("ledger_projection_position", (("projection", name),))]
        assert seen[("ledger_projection_lag", (("projection", name),))] == head - position


def test_jobs_by_state_and_imported_rows_by_outcome(scraped: Api) -> None:
    event_id = an_event(scraped)
    content = csv_bytes([HEADERS, *PEOPLE, ["not an email", "X", "Y", "Z"]])
    answer = upload(scraped, content, "people.csv", event_id=event_id, mapping=MAPPING)
    report = imported(scraped, answer)
    assert report["status"] == "done", report
    seen = samples(scraped)
    assert seen[("ledger_jobs", (("action", "import"), ("state", "done")))] == 1
    assert seen[("ledger_import_rows_total", (("outcome", "changed"),))] == 2
    assert seen[("ledger_import_rows_total", (("outcome", "skipped"),))] == 1
    assert seen[("ledger_import_rows_total", (("outcome", "unchanged"),))] == 0
