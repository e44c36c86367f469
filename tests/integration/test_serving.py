"""A real `contact-ledger serve`: metrics added up over its workers, JSON logs, and what
the CLI says beside it or when the database's schema is missing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families

from adapters.settings import Settings
from tests.support.processes import CLI, environment, fleet

TOKEN = "scrape-token-of-at-least-32-characters"
CALLS = 20


def _openapi_count(base: str) -> float:
    answer = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return sum(
        sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name == "ledger_http_requests_total" and sample.labels["route"] == "/openapi.json"
    )


def test_two_workers_count_requests_together_and_log_json_lines(
    db_settings: Settings, tmp_path: Path
) -> None:
    env = {"LEDGER_METRICS_TOKEN": TOKEN, "LEDGER_LOG_FORMAT": "json"}
    with fleet(db_settings, tmp_path) as processes:
        base = processes.api("server", "--workers", "2", env=env)
        with httpx.Client(base_url=base) as http:  # new connections: either worker answers
            for _ in range(CALLS):
                assert httpx.get(f"{base}/openapi.json").status_code == 200
        # whichever worker is scraped adds up both workers' counts
        assert [_openapi_count(base) for _ in range(6)] == [CALLS] * 6
        http.close()
    lines = [json.loads(line) for line in processes.log("server").splitlines() if line]
    access = [line for line in lines if line["logger"] == "contact_ledger.access"]
    assert len([line for line in access if line["route"] == "/openapi.json"]) == CALLS
    assert {"time", "level", "message", "status", "duration_ms", "correlation_id"} <= set(access[0])


def test_a_missing_postgres_schema_is_one_line(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:5432/test?schema=no_such_schema_here"
    settings = Settings.from_env({"DATABASE_URL": url, "LEDGER_SECRET": "s" * 32})
    for command in (["project", "--status"], ["serve", "--no-demo", "--port", "1"]):
        done = subprocess.run(
            [str(CLI), *command],
            check=False,
            env=environment(settings, tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [
            'Error: the PostgreSQL schema "no_such_schema_here" does not exist in database '
            '"test": create it (CREATE SCHEMA no_such_schema_here) or change ?schema= in '
            "DATABASE_URL"
        ]
