"""Faults and recovery (decision 0033): a lost database connection only delays the read
models, the job runner and the purger; an event that cannot be applied stops its
projector and `/health` says so; `/health` and `?after=` take no request thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import anyio.to_thread
import psycopg
import pytest
import sqlalchemy.exc
from starlette.testclient import TestClient

from adapters.job_runner import JobRunner
from adapters.projector import FOLLOWING, STOPPED, LiveState, Projector
from adapters.sql import grid_tables as t
from app import build_system
from domain.meta import Meta
from tests.conftest import _require
from tests.http.conftest import Api, running_api
from tests.http.test_routes import an_event, ok, register
from tests.support.backends import _dsn, backend_settings
from tests.support.world import T0, World

PERSONAL = "ada.lovelace@example.org"


def lost_connection() -> Exception:
    """What SQLAlchemy raises when PostgreSQL terminated the backend of a statement."""
    orig = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    error = sqlalchemy.exc.OperationalError("SELECT …", {"email": PERSONAL}, orig)
    error.__cause__ = orig
    return error


def eventually(check: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.02)


# --- a lost connection -------------------------------------------------------------------


def live(projector: Projector) -> LiveState:
    state = projector.live()
    assert state is not None, f"{projector.store.name} does not follow the log here"
    return state


def terminate(application_name: str) -> int:
    """End every backend of the system under test (found by its application name): its
    pools' connections, the LISTEN ones, whatever query they were in."""
    with psycopg.connect(_dsn(), autocommit=True, application_name="ledger-faults-admin") as db:
        row = db.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_terminated_backends_mid_catch_up_only_delay_the_read_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _require("postgres")
    name = f"ledger-faults-{uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # libpq: every connection the system makes
    with backend_settings("postgres", tmp_path) as settings:
        system = build_system(settings)
        try:
            world = World(system.ledger)
            account_id = world.account()
            event_id = world.event(account_id)
            for n in range(40):
                world.register(account_id, event_id, email=f"p{n}@example.org")
            head = world.position()
            projectors = list(system.projectors.values())
            for projector in projectors:
                projector.batch_size = 2  # many transactions: the catch-up takes a while
                projector.start()
            eventually(lambda: live(system.projector).position > 0)
            with caplog.at_level(logging.WARNING, "contact_ledger"):
                assert terminate(name) > 0
                behind = [p.store.name for p in projectors if live(p).position < head]
                for n in range(40, 50):  # the writers' pool recovers too
                    world.register(account_id, event_id, email=f"p{n}@example.org")
                head = world.position()
                for projector in projectors:  # caught up, and its round ended well
                    eventually(
                        lambda p=projector: (
                            live(p).position >= head  # type: ignore[misc]
                            and live(p).state == FOLLOWING
                        )  # type: ignore[misc]
                    )
            assert behind, "every projector had caught up before the backends ended"
            # a projector that caught up on its new reading connection may still find its
            # old LISTEN connection dead at its next wait, and reconnect it: settled soon
            eventually(lambda: all(live(p).state == FOLLOWING for p in projectors))
            for projector in projectors:
                assert projector.error is None
            assert any("lost the database" in m for m in caplog.messages)
            assert all(PERSONAL not in m for m in caplog.messages)
            with TestClient(system.http) as client:
                health = client.get("/health")
            assert health.status_code == 200, health.text
            body = health.json()
            assert body["status"] == "ok"
            assert {p["state"] for p in body["projections"].values()} == {FOLLOWING}
            assert {p["lag"] for p in body["projections"].values()} == {0}
        finally:
            system.close()


def test_a_job_cut_by_a_lost_connection_resumes_instead_of_failing(api: Api) -> None:
    runs: list[int] = []

    def flaky(job: Any, meta: Meta, stopping: Callable[[], bool], progress: Any) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise lost_connection()

    runner = api.system.jobs
    runner.handlers["flaky"] = flaky
    meta = Meta("tester", "admin", "http", "c")
    job_id = runner.store.create(api.account_id, "flaky", {}, None, meta, T0, 0)
    eventually(lambda: runner.store.get(api.account_id, job_id).status in ("done", "failed"))
    job = runner.store.get(api.account_id, job_id)
    assert (job.status, job.error, len(runs)) == ("done", None, 2)


def test_a_failing_claim_is_retried_and_logged_in_one_line_without_personal_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    claims: list[int] = []
    retried = threading.Event()

    class Store:
        def claim(self, now: Any, stale: float) -> None:
            claims.append(1)
            if len(claims) <= 2:
                raise lost_connection()
            retried.set()

    runner = JobRunner(Store(), None, None, lambda: 0, lambda: T0, poll_seconds=0.01)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "contact_ledger.jobs"):
        runner.start()
        try:
            assert retried.wait(10)
        finally:
            runner.stop()
    lost = [r for r in caplog.records if "lost the database" in r.getMessage()]
    assert len(lost) == 2
    assert all(r.exc_info is None and PERSONAL not in r.getMessage() for r in lost)
    assert "AdminShutdown: terminating connection" in lost[0].getMessage()


def test_a_purge_cut_by_a_lost_connection_is_retried_in_one_line_without_personal_data(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    purger = api.system.purger
    runs: list[int] = []
    retried = threading.Event()

    def run() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise lost_connection()
        retried.set()

    monkeypatch.setattr(purger, "run", run)
    with caplog.at_level(logging.WARNING, "contact_ledger.purge"):
        purger.start(0.01)
        try:
            assert retried.wait(10)
        finally:
            purger.stop()
    lost = [r for r in caplog.records if "lost the database" in r.getMessage()]
    assert len(lost) == 1
    assert lost[0].exc_info is None and PERSONAL not in lost[0].getMessage()


# --- an event that cannot be applied -----------------------------------------------------


def test_an_event_that_cannot_be_applied_stops_its_projector_and_health_answers_503(
    api: Api,
) -> None:
    event_id = an_event(api)
    person = ok(register(api, event_id, email=PERSONAL), 201)
    position = int(register(api, event_id, email="bob@example.org").headers["X-Position"])
    ok(api.call("GET", "/v1/contacts", "analyst", params={"after": str(position)}))
    with api.system.tokens.engine.begin() as connection:
        connection.execute(t.participants.delete())  # the grid's row of the person is gone
    path = f"/v1/events/{event_id}/participants/{person['id']}/status"
    ok(api.call("POST", path, "service", json={"status": "attended"}))
    eventually(lambda: api.client.get("/health").status_code == 503)
    body = api.client.get("/health").json()
    grid = body["projections"]["grid"]
    assert body["status"] == "failed"
    assert grid["state"] == STOPPED
    assert grid["position"] == position
    assert "has no row" in grid["error"]
    assert body["projections"]["audit"]["state"] == FOLLOWING  # the others go on


# --- /health and ?after= under load --------------------------------------------------------


def borrowed(client: TestClient) -> float:
    """Threads of the request pool (AnyIO's default limiter) in use now."""
    limiter = client.portal.call(anyio.to_thread.current_default_thread_limiter)  # type: ignore[union-attr]
    return float(limiter.borrowed_tokens)


@pytest.fixture
def short_waits(tmp_path: Path, db_kind: str) -> Any:
    with running_api(db_kind, tmp_path, read_wait_seconds=1) as api_:
        yield api_


def test_health_and_far_ahead_waits_answer_while_every_request_thread_is_busy(
    short_waits: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = short_waits
    release = threading.Event()
    real_account = api.system.ledger.account

    def blocked(*args: Any, **kwargs: Any) -> Any:
        release.wait(60)
        return real_account(*args, **kwargs)

    monkeypatch.setattr(api.system.ledger, "account", blocked)
    with ThreadPoolExecutor(44) as pool:
        try:
            busy = [pool.submit(api.call, "GET", "/v1/settings") for _ in range(42)]
            eventually(lambda: borrowed(api.client) >= 40)  # the pool's 40 threads, all held
            health = pool.submit(api.client.get, "/health").result(timeout=20)
            far = pool.submit(
                api.call, "GET", "/v1/contacts", "analyst", params={"after": str(10**12)}
            ).result(timeout=20)
            assert not any(future.done() for future in busy)  # still all held meanwhile
        finally:
            release.set()
        assert [f.result(timeout=60).status_code for f in busy] == [200] * 42
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"
    assert far.status_code == 504


def test_many_far_ahead_waits_hold_no_request_thread(short_waits: Api) -> None:
    api = short_waits
    with ThreadPoolExecutor(60) as pool:
        waits = [
            pool.submit(api.call, "GET", "/v1/contacts", "analyst", params={"after": "999999"})
            for _ in range(59)
        ]
        samples = []
        while not all(w.done() for w in waits):
            samples.append(borrowed(api.client))
            time.sleep(0.01)
        assert {w.result().status_code for w in waits} == {504}
    assert len(samples) > 10
    assert max(samples) == 0  # every wait read the projector's position from memory
