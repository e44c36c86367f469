"""The change feed over HTTP (F22): following it, long-polling, erasure, roles, isolation."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from adapters.http.long_poll import FeedFollower
from adapters.sql.change_feed import FeedPage, FeedQuery
from tests.http.conftest import Api
from tests.http.test_routes import an_event, ok, problem, register

WAIT = 10  # seconds a catching-up read may wait for the projection (it answers earlier)


def follow(api: Api, upto: int, after: int = 0, limit: int = 100) -> list[Any]:
    """The feed's answers from `after` on, until the audit has reached `upto` and shown it."""
    answers, wait = [], WAIT
    for _ in range(1_000):
        params = {"after": after, "limit": limit, "wait": wait}
        answers.append(api.call("GET", "/v1/feed", "analyst", params=params))
        page = ok(answers[-1])
        after = page["next_after"]
        if page["head"] >= upto and len(page["items"]) < limit:
            return answers
        wait = 0 if page["head"] >= upto else WAIT
    raise AssertionError(f"the feed never reached position {upto}")


def items_of(answers: list[Any]) -> list[dict[str, Any]]:
    return [item for answer in answers for item in answer.json()["items"]]


def bytes_of(answers: list[Any]) -> bytes:
    return b"".join(answer.content for answer in answers)


def audit_positions(api: Api, upto: int) -> list[int]:
    """The positions the audit query lists for the account (the feed's reference)."""
    params: dict[str, Any] = {"after": upto, "limit": 500}
    positions = []
    while True:
        page = ok(api.call("GET", "/v1/audit", "admin", params=params))
        positions += [item["position"] for item in page["items"]]
        if page["next_cursor"] is None:
            return positions
        params = {"limit": 500, "cursor": page["next_cursor"]}


def position(response: Any) -> int:
    return int(response.headers["X-Position"])


def ok_registered(api: Api, event_id: str, email: str) -> Any:
    response = register(api, event_id, email=email)
    ok(response, 201)
    return response


def test_following_the_feed_gives_every_entry_once_in_log_order_while_writes_go_on(
    api: Api,
) -> None:
    event_id = an_event(api)
    written: list[int] = []

    def register_visitors() -> None:
        for n in range(25):
            written.append(position(ok_registered(api, event_id, f"visitor{n}@example.org")))

    writer = threading.Thread(target=register_visitors)
    writer.start()
    seen: list[dict[str, Any]] = []
    after, limit = 0, 3
    for _ in range(5_000):
        done = not writer.is_alive()  # before the read: then every write is in `written`
        params = {"after": after, "limit": limit, "wait": 0.2}
        page = ok(api.call("GET", "/v1/feed", "analyst", params=params))
        seen += page["items"]
        after = page["next_after"]
        if done and page["head"] >= max(written) and len(page["items"]) < limit:
            break
    else:
        raise AssertionError("the feed never caught up with the writes")
    writer.join()
    positions = [item["position"] for item in seen]
    assert positions == sorted(set(positions)), "out of order or repeated"
    assert positions == audit_positions(api, max(written)), "missed or extra entries"
    registered = [i for i in seen if i["action"] == "Participant.Registered"]
    assert len(registered) == 25


def test_a_long_poll_answers_with_the_entry_that_came_while_it_waited(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = an_event(api)
    caught_up = follow(api, position(ok_registered(api, event_id, "early@example.org")))
    after = caught_up[-1].json()["next_after"]
    looked = threading.Event()
    spy = SpyView(api.system.runtime.feed.view, looked)
    monkeypatch.setattr(api.system.runtime.feed, "view", spy)
    answers: list[Any] = []
    params = {"after": after, "wait": 30}
    poll = threading.Thread(
        target=lambda: answers.append(api.call("GET", "/v1/feed", "analyst", params=params))
    )
    poll.start()
    assert looked.wait(30), "the long-poll never looked"
    assert spy.pages[0].entries == []  # so it was waiting when the write came
    late = position(ok_registered(api, event_id, "late@example.org"))
    poll.join()
    page = ok(answers[0])
    assert page["items"], "answered without the new entry"
    assert after < page["items"][0]["position"] <= late
    assert page["next_after"] == page["items"][-1]["position"]
    assert page["head"] >= page["next_after"]


def test_an_idle_long_poll_answers_nothing_new_and_the_same_after(api: Api) -> None:
    event_id = an_event(api)
    answers = follow(api, position(ok_registered(api, event_id, "ada@example.org")))
    after = answers[-1].json()["next_after"]
    for wait in ("0", "0.2"):
        page = ok(api.call("GET", "/v1/feed", "analyst", params={"after": after, "wait": wait}))
        assert page["items"] == [] and page["next_after"] == after


class SpyView:
    """The real view, noting what the follower asked for."""

    def __init__(self, view: Any, looked: threading.Event | None = None) -> None:
        self.view, self.looked = view, looked or threading.Event()
        self.pages: list[FeedPage] = []
        self.heads = 0

    def page(self, query: FeedQuery) -> FeedPage:
        found = self.view.page(query)
        self.pages.append(found)
        self.looked.set()
        return found

    def head(self) -> int:
        self.heads += 1
        return int(self.view.head())


def test_a_long_poll_stops_waiting_when_the_client_is_gone(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = SpyView(api.system.runtime.feed.view)
    monkeypatch.setattr(api.system.runtime.feed, "view", spy)
    sent: list[dict[str, Any]] = []

    async def gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/feed",
        "raw_path": b"/v1/feed",
        "root_path": "",
        "query_string": b"after=999999&wait=30",
        "headers": [
            (b"host", b"test"),
            (b"authorization", api.as_("analyst")["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    asyncio.run(api.system.http(scope, gone, send))
    assert sent[0]["status"] == 200
    assert len(spy.pages) == 1 and spy.heads == 0, "it went on waiting for no one"


def test_a_long_poll_ends_at_once_when_cancelled(api: Api) -> None:
    """What uvicorn does to requests still running at the end of a graceful shutdown."""
    looked = threading.Event()
    follower = FeedFollower(SpyView(api.system.runtime.feed.view, looked))

    async def present() -> bool:
        return False

    async def shut_down() -> None:
        query = FeedQuery(api.account_id, after=999_999)
        waiting = asyncio.create_task(follower.page(query, 30, present))
        while not looked.is_set():
            await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(shut_down())


def test_an_erased_persons_values_never_show_in_the_feed(api: Api) -> None:
    api.call("PUT", "/v1/settings", json={"sync": {"company": "up_and_propagate"}})
    event_id = an_event(api)
    fields = {"email": "augusta@example.org", "first_name": "Augusta", "company": "Engines"}
    participant = ok(register(api, event_id, **fields), 201)
    path = f"/v1/events/{event_id}/participants/{participant['id']}"
    edit = api.call("PATCH", path, "editor", json={"fields": {"company": "Babbage Ltd"}})
    before = bytes_of(follow(api, position(edit)))  # the audit holds the values in clear
    assert b"augusta@example.org" in before and b"Babbage Ltd" in before
    erased = api.call("POST", f"/v1/contacts/{ok(edit)['contact_id']}/erase", "compliance")
    ok(erased)
    follow(api, position(erased))  # the audit has applied the erasure: read it all again
    answers = follow(api, position(erased))
    shown = bytes_of(answers)
    for value in ("augusta@example.org", "Augusta", "Engines", "Babbage Ltd"):
        assert value.encode() not in shown, value
    actions = [item["action"] for item in items_of(answers)]
    assert "Participant.Registered" in actions and "Contact.Erased" in actions


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("after", "-1"),
        ("after", "x"),
        ("after", str(2**63)),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "ten"),
        ("wait", "-1"),
        ("wait", "30.5"),
        ("wait", "nan"),
        ("wait", "inf"),
        ("wait", "soon"),
        ("cursor", "abc"),
    ],
)
def test_bad_parameters_are_422_problems(module_api: Api, name: str, value: str) -> None:
    answer = module_api.call("GET", "/v1/feed", "analyst", params={name: value})
    assert name in problem(answer, 422)["detail"]


def test_analysts_and_admins_read_the_feed_and_no_other_role(module_api: Api) -> None:
    for role in ("admin", "analyst"):
        ok(module_api.call("GET", "/v1/feed", role))
    for role in ("editor", "compliance", "service"):
        problem(module_api.call("GET", "/v1/feed", role), 403)
    problem(module_api.client.get("/v1/feed"), 401)


def test_another_accounts_events_never_show_in_the_feed(api: Api, other_account: Api) -> None:
    ours = an_event(api)
    theirs = an_event(other_account)
    mine = position(ok_registered(api, ours, "ada@example.org"))
    last = position(ok_registered(other_account, theirs, "grace@example.org"))
    their_feed = follow(other_account, max(mine, last))
    our_feed = follow(api, max(mine, last))
    for secret in (ours, str(api.account_id), "ada@example.org"):
        assert secret.encode() not in bytes_of(their_feed), secret
    for secret in (theirs, str(other_account.account_id), "grace@example.org"):
        assert secret.encode() not in bytes_of(our_feed), secret
    for account, answers in ((other_account, their_feed), (api, our_feed)):
        positions = [item["position"] for item in items_of(answers)]
        assert positions and positions == audit_positions(account, max(mine, last))
