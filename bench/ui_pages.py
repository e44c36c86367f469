"""A back-office grid page against the JSON API's answer for the same page (issue 25).

The contact grid of one account holds `--contacts` rows (100,000 by default), loaded
straight into the read model as `bench.grid` does. The same signed-in person asks for
the same page two ways, alternately: `/contacts?...` (the HTML page) and
`/v1/contacts?...` (the JSON page, with a bearer token of the same role). Both go
through the whole ASGI stack in process (Starlette's test client, the same overhead
for both). The bar: the page's p95 <= 3 x the JSON answer's p95.

Run from the repository root:  .venv/bin/python -m bench.ui_pages --backend both
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from starlette.testclient import TestClient

from adapters.clock import utc_now
from app import build_system
from bench.grid import fill
from bench.registrations import META, PG_URL, fresh_store

PASSWORD = "a password for the bench"
QUERIES = {
    "first page, by name": "sort=name",
    "search": "q={search}",
    "filtered (2+ events)": "min_events=2",
}
JSON_QUERIES = {
    "first page, by name": "sort=name",
    "search": "q={search}",
    "filtered (2+ events)": 'filter={{"field":"n_events","op":"range","value":{{"gte":2}}}}',
}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    answer = call()
    took = time.perf_counter() - started
    assert answer.status_code == 200, answer.text[:500]
    return took


def run(kind: str, contacts: int, runs: int, workdir: Path) -> None:
    with fresh_store(kind, workdir) as store:
        system = build_system(store.settings())
        try:
            account_id = system.ledger.open_account("Bench", utc_now(), META).id
            probes = fill(store, system.grid.engine, contacts, account_id)
            users = system.runtime.users
            assert users is not None
            users.create(account_id, "analyst", "analyst@bench.example", PASSWORD, utc_now())
            token = system.tokens.create(account_id, "analyst", "bench", utc_now())
            with TestClient(system.http) as browser, TestClient(system.http) as program:
                form = browser.get("/sign-in").text
                csrf = re.search(
                    r'action="/sign-in">\s*<input type="hidden" name="csrf" '
                    r'value="([^"]+)"',
                    form,
                )
                assert csrf
                browser.post(
                    "/sign-in",
                    data={
                        "csrf": csrf.group(1),
                        "password": PASSWORD,
                        "email": "analyst@bench.example",
                    },
                )
                headers = {"Authorization": f"Bearer {token}"}
                search = probes.search
                for name, query in QUERIES.items():
                    page_url = "/contacts?" + query.format(search=search)
                    json_url = "/v1/contacts?" + JSON_QUERIES[name].format(search=search)
                    as_page = partial(browser.get, page_url)
                    as_json = partial(program.get, json_url, headers=headers)
                    pages, answers = [], []
                    for _ in range(3):  # warm-up
                        timed(as_page)
                        timed(as_json)
                    for _ in range(runs):
                        pages.append(timed(as_page))
                        answers.append(timed(as_json))
                    ratio = p95(pages) / p95(answers)
                    print(
                        f"{kind:<9} {name:<22} page p50 {statistics.median(pages) * 1000:6.1f}"
                        f" p95 {p95(pages) * 1000:6.1f} ms | JSON p50"
                        f" {statistics.median(answers) * 1000:6.1f} p95 {p95(answers) * 1000:6.1f}"
                        f" ms | p95 ratio {ratio:4.2f} (bar <= 3)",
                        flush=True,
                    )
        finally:
            system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    if "postgres" in kinds:
        try:
            psycopg.connect(PG_URL, connect_timeout=3).close()
        except psycopg.OperationalError as error:
            raise SystemExit(f"PostgreSQL is unreachable at {PG_URL}: {error}") from None
    print(f"{args.contacts:,} contacts, {args.runs} runs per page, alternating page and JSON")
    with tempfile.TemporaryDirectory() as workdir:
        for kind in kinds:
            run(kind, args.contacts, args.runs, Path(workdir))


if __name__ == "__main__":
    main()
