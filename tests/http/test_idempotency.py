"""The Idempotency-Key header: a retried write is answered once, with one effect."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx2
import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from adapters.http.asgi import create_http_app
from adapters.http.endpoint import Context, Endpoint, Reply
from adapters.http.errors import HttpError
from adapters.http.idempotency import IdempotentWrites
from adapters.idempotency import idempotency_keys
from tests.http.conftest import Api, running_api
from tests.http.test_routes import an_event, ok, problem
from tests.support.world import T0

ADA = {"email": "ada@example.org", "first_name": "Ada"}


def keyed(key: str | bytes) -> dict[str, Any]:
    return {"Idempotency-Key": key}


def register_as(
    api: Api, event_id: str, key: str | bytes, role: str = "service", **fields: Any
) -> Any:
    body = {"fields": fields, "status": "registered", "source": "api"}
    path = f"/v1/events/{event_id}/participants"
    return api.call("POST", path, role, json=body, headers=keyed(key))


def head(api: Api) -> int:
    return api.system.ledger.recorder.max_notification_id() or 0


def registrations_since(api: Api, position: int) -> int:
    recorder = api.system.ledger.recorder
    notes = recorder.select_notifications(position + 1, 10_000)
    return sum(n.topic.endswith("Participant.Registered") for n in notes)


def stored_bodies(api: Api) -> list[bytes]:
    with api.system.idempotency.engine.connect() as connection:
        return [b for (b,) in connection.execute(select(idempotency_keys.c.body)) if b]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def app_with(
    api: Api,
    *endpoints: Endpoint,
    clock: Callable[[], datetime] = lambda: T0,
    wait_seconds: float = 5.0,
) -> Starlette:
    """The system's collaborators behind test-only endpoints."""
    runtime = replace(
        api.system.runtime,
        clock=clock,
        idempotency=IdempotentWrites(api.system.idempotency, wait_seconds, poll_seconds=0.01),
    )
    return create_http_app(runtime, endpoints)


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """A real server (uvicorn in a thread, on a free port): requests truly overlap."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", loop="asyncio", http="h11", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@contextmanager
def meanwhile(
    call: Callable[[], httpx2.Response], release: threading.Event
) -> Iterator[list[httpx2.Response]]:
    """`call` in a thread; on leaving, the blocked handler is released and awaited."""
    answers: list[httpx2.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    try:
        yield answers
    finally:
        release.set()
        thread.join(timeout=30)


def test_a_retry_answers_the_first_answer_and_has_no_second_effect(api: Api) -> None:
    event_id = an_event(api)
    first = register_as(api, event_id, "reg-ada-1", **ADA)
    created = ok(first, 201)
    before = head(api)
    again = register_as(api, event_id, "reg-ada-1", **ADA)
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    for name in ("X-Position", "ETag", "Content-Type"):
        assert again.headers[name] == first.headers[name]
    assert head(api) == before  # no new event at all
    grid = api.call("GET", f"/v1/events/{event_id}/participants", params={"after": before})
    assert [p["id"] for p in ok(grid)["items"]] == [created["id"]]


def test_the_same_key_for_another_request_is_refused_without_effect(api: Api) -> None:
    event_id = an_event(api)
    ok(register_as(api, event_id, "k", **ADA), 201)
    before = head(api)
    other_body = register_as(api, event_id, "k", email="bob@example.org")
    assert "used for a different request" in problem(other_body, 422)["detail"]
    other_path = api.call("POST", "/v1/groups", headers=keyed("k"), json={"name": "VIP"})
    problem(other_path, 422)
    other_actor = register_as(api, event_id, "k", "editor", **ADA)
    problem(other_actor, 422)
    assert head(api) == before


def test_keys_belong_to_one_account(api: Api, other_account: Api) -> None:
    here, there = an_event(api), an_event(other_account)
    mine = ok(register_as(api, here, "shared", **ADA), 201)
    theirs = ok(register_as(other_account, there, "shared", **ADA), 201)
    assert mine["id"] != theirs["id"]
    assert registrations_since(api, 0) == 2


def test_a_malformed_key_is_refused(api: Api) -> None:
    event_id = an_event(api)
    before = head(api)
    for bad in ("", "x" * 256, "café".encode(), "tab\there"):
        refused = register_as(api, event_id, bad, **ADA)
        assert "Idempotency-Key" in problem(refused, 422)["detail"]
    twice = [("Authorization", f"Bearer {api.tokens['admin']}")] + [("Idempotency-Key", "a")] * 2
    problem(api.client.post("/v1/groups", headers=twice, json={"name": "VIP"}), 422)
    assert head(api) == before
    ok(register_as(api, event_id, "x" * 255, **ADA), 201)
    ok(register_as(api, event_id, "a key ~!@#$%^&*()", email="b@example.org"), 201)


def test_reads_ignore_the_header(api: Api) -> None:
    ok(api.call("GET", "/v1/settings", headers=keyed("")))


def test_a_refused_write_is_replayed_too(api: Api) -> None:
    event_id = an_event(api)
    ok(register_as(api, event_id, "first", **ADA), 201)
    refused = register_as(api, event_id, "bad", email="not an email")
    problem(refused, 422)
    again = register_as(api, event_id, "bad", email="not an email")
    assert (again.status_code, again.content) == (422, refused.content)
    assert again.headers["content-type"] == "application/problem+json"
    assert again.headers["Idempotent-Replayed"] == "true"


def test_server_errors_are_not_stored_so_a_retry_runs_again(api: Api) -> None:
    calls: list[int] = []

    def flaky(_ctx: Context) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the disk is on fire")  # unexpected: a 500
        if len(calls) == 2:
            raise HttpError(503, "try again", headers={"Retry-After": "1"})
        return Reply({"id": str(uuid4()), "version": 1, "call": len(calls)}, 201)

    endpoint = Endpoint("POST", "/v1/flaky", flaky, "Fail twice", status=201)
    client = TestClient(app_with(api, endpoint), raise_server_exceptions=False)

    def post() -> Any:
        return client.post("/v1/flaky", headers={**api.as_("admin"), **keyed("f")})

    assert post().status_code == 500
    assert post().status_code == 503
    done = post()
    assert ok(done, 201)["call"] == 3
    replayed = post()
    assert (replayed.status_code, replayed.content) == (201, done.content)
    assert len(calls) == 3
    assert stored_bodies(api) == [done.content]


def test_concurrent_retries_have_one_effect(
    store_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_api(store_kind, tmp_path) as api:
        event_id = an_event(api)
        register_now = api.system.ledger.register_participant

        def slowly(*args: Any) -> Any:
            time.sleep(0.3)  # all retries arrive while the first still runs
            return register_now(*args)

        monkeypatch.setattr(api.system.ledger, "register_participant", slowly)
        before = head(api)
        barrier = threading.Barrier(8)
        answers: list[httpx2.Response] = []

        with serving(api.system.http) as url:

            def post() -> None:
                headers = {**api.as_("service"), **keyed("burst")}
                body = {"fields": ADA, "status": "registered", "source": "api"}
                with httpx2.Client(base_url=url, timeout=30) as client:
                    barrier.wait()
                    answers.append(
                        client.post(
                            f"/v1/events/{event_id}/participants", json=body, headers=headers
                        )
                    )

            threads = [threading.Thread(target=post) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        assert [a.status_code for a in answers] == [201] * 8
        assert len({a.content for a in answers}) == 1
        replayed = [a.headers.get("Idempotent-Replayed") for a in answers]
        assert sorted(replayed, key=str) == [None] + ["true"] * 7
        assert registrations_since(api, before) == 1


def test_a_request_still_in_progress_is_409_then_replayed(api: Api) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(_ctx: Context) -> Reply:
        entered.set()
        release.wait(10)
        return Reply({"id": str(uuid4()), "version": 1}, 201)

    endpoint = Endpoint("POST", "/v1/slow", slow, "Slow write", status=201)
    headers = {**api.as_("admin"), **keyed("slow")}
    with (
        serving(app_with(api, endpoint, wait_seconds=0.3)) as url,
        httpx2.Client(base_url=url, timeout=30) as client,
    ):
        with meanwhile(lambda: client.post("/v1/slow", headers=headers), release) as first:
            assert entered.wait(10)
            busy = client.post("/v1/slow", headers=headers)
            assert "still in progress" in problem(busy, 409)["detail"]
            assert busy.headers["Retry-After"] == "1"
        replayed = client.post("/v1/slow", headers=headers)
    assert (replayed.status_code, replayed.content) == (201, first[0].content)


def test_a_reservation_older_than_the_stale_limit_is_taken_over(api: Api) -> None:
    """A request hung past the limit counts as dead: the retry runs, its answer is kept."""
    clock = Clock(T0)
    hung, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def write(_ctx: Context) -> Reply:
        calls.append(1)
        call = len(calls)
        if call == 1:
            hung.set()
            release.wait(10)
        return Reply({"id": str(uuid4()), "version": 1, "call": call}, 201)

    endpoint = Endpoint("POST", "/v1/write", write, "Write", status=201)
    headers = {**api.as_("admin"), **keyed("stale")}
    app = app_with(api, endpoint, clock=clock, wait_seconds=0.2)
    with serving(app) as url, httpx2.Client(base_url=url, timeout=30) as client:
        with meanwhile(lambda: client.post("/v1/write", headers=headers), release) as first:
            assert hung.wait(10)
            problem(client.post("/v1/write", headers=headers), 409)
            clock.now = T0 + timedelta(minutes=5)  # not yet past the limit
            problem(client.post("/v1/write", headers=headers), 409)
            clock.now = T0 + timedelta(minutes=5, seconds=1)
            taken = client.post("/v1/write", headers=headers)
            assert ok(taken, 201)["call"] == 2
        assert ok(first[0], 201)["call"] == 1  # it did run too: the window decision 0016 names
        replayed = client.post("/v1/write", headers=headers)
    assert replayed.content == taken.content  # the taker's answer is the one kept


def test_the_key_is_new_again_after_the_keep_time(db_kind: str, tmp_path: Path) -> None:
    clock = Clock(T0)
    with running_api(db_kind, tmp_path, clock) as api:
        # several bookings: run again, the registration makes a second one (not a 409)
        body = {"name": "Club", "kind": "community", "several_bookings": True}
        event_id = ok(api.call("POST", "/v1/events", json=body), 201)["id"]
        first = ok(register_as(api, event_id, "daily", **ADA), 201)
        clock.now = T0 + timedelta(hours=23, minutes=59)
        assert ok(register_as(api, event_id, "daily", **ADA), 201) == first
        clock.now = T0 + timedelta(hours=24, seconds=1)
        later = register_as(api, event_id, "daily", **ADA)
        assert "Idempotent-Replayed" not in later.headers
        assert ok(later, 201)["id"] != first["id"]
        clock.now = T0 + timedelta(hours=49)
        assert api.system.purger.run().expired_answers == 1  # `later`'s (the first was reused)
        assert stored_bodies(api) == []


def test_erasing_a_contact_forgets_the_answers_that_show_the_person(api: Api) -> None:
    event_id = an_event(api)
    registered = register_as(api, event_id, "reg", **ADA)
    participant = ok(registered, 201)
    assert any(b"ada@example.org" in body for body in stored_bodies(api))
    erase = api.call(
        "POST", f"/v1/contacts/{participant['contact_id']}/erase", "compliance", headers=keyed("er")
    )
    ok(erase)
    assert not any(b"ada@example.org" in body for body in stored_bodies(api))
    again = api.call(
        "POST", f"/v1/contacts/{participant['contact_id']}/erase", "compliance", headers=keyed("er")
    )
    assert again.content == erase.content  # the erase answer holds no personal data: kept
    assert again.headers["Idempotent-Replayed"] == "true"


def test_an_answer_given_before_the_contact_existed_is_forgotten_too(api: Api) -> None:
    event_id = an_event(api, sync=False)
    participant = ok(register_as(api, event_id, "early", **ADA), 201)
    assert participant["contact_id"] is None  # the answer names the participant only
    sync = {"enabled": True, "scope": "all"}
    ok(api.call("PUT", f"/v1/events/{event_id}/sync", json=sync))
    ok(api.call("POST", f"/v1/events/{event_id}/sync/backfill", json={}))
    path = f"/v1/events/{event_id}/participants/{participant['id']}"
    contact_id = ok(api.call("GET", path))["contact_id"]
    ok(api.call("POST", f"/v1/contacts/{contact_id}/erase", "compliance"))
    assert stored_bodies(api) == []


def test_the_purge_forgets_the_answers_of_what_it_erases(api: Api) -> None:
    event_id = an_event(api)
    participant = ok(register_as(api, event_id, "reg", **ADA), 201)
    contact_path = f"/v1/contacts/{participant['contact_id']}"
    ok(api.call("DELETE", contact_path, headers=keyed("del"), params={"confirm": "DELETE"}))
    assert len(stored_bodies(api)) == 2  # both show the person
    api.system.projector.catch_up()
    report = api.system.purger.run(T0 + timedelta(days=70))
    assert report.contacts == 1
    assert stored_bodies(api) == []


def test_openapi_declares_the_header_on_writes_only(api: Api) -> None:
    document = ok(api.client.get("/openapi.json"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", ())}
            if method == "get" or path in ("/health", "/openapi.json"):
                assert "Idempotency-Key" not in names
            else:
                assert "Idempotency-Key" in names, (method, path)
                assert {"409", "422"} <= set(operation["responses"])
