"""Group commit on every backend: commands sent together commit together; a refused one
refuses only itself; a failed commit fails exactly its commands and writes nothing; a batch
that lost a race is decided again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from adapters.group_commit import CommitFailedError, GroupCommit
from adapters.ledger import SealedContactLedger
from domain import commands
from domain.fields import FieldValueError
from tests.support.world import World


@pytest.fixture
def world(ledger: SealedContactLedger) -> World:
    return World(ledger)


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call in a thread of its own, started at once; their values or errors."""
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def call(index: int) -> None:
        start.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def slow_batches(ledger: SealedContactLedger) -> Iterator[list[int]]:
    """Each batch waits a little before it is decided, so the commands sent together
    gather into few batches; yields the sizes of the batches."""
    sizes: list[int] = []
    run_batch = ledger.run_batch
    gathered = threading.Event()

    def slow(decides: Any) -> Any:
        gathered.wait(0.2)
        sizes.append(len(decides))
        return run_batch(decides)

    ledger.run_batch = slow  # type: ignore[method-assign]
    yield sizes
    ledger.run_batch = run_batch  # type: ignore[method-assign]


def registrations(world: World, account: Any, event: Any, emails: list[str]) -> list[Any]:
    def register(email: str) -> Callable[[], Any]:
        cmd = commands.RegisterParticipant(account, event, {"email": email, "company": "Acme"})
        return lambda: world.ledger.register_participant(cmd, world.now, world.meta)

    return [register(email) for email in emails]


def test_commands_sent_together_share_transactions_and_one_refused_lands_alone(
    world: World, slow_batches: list[int]
) -> None:
    account = world.account()
    event = world.event(account, several_bookings=True)
    before = world.position()
    emails = ["ada@example.org", "not an email", "grace@example.org", "ada@example.org"]
    results = together(registrations(world, account, event, emails))
    assert isinstance(results[1], FieldValueError)
    assert all(not isinstance(r, Exception) for i, r in enumerate(results) if i != 1)
    assert max(slow_batches) > 1
    ada = {world.contact_of(account, results[i].id).id for i in (0, 3)}  # type: ignore[union-attr]
    assert len(ada) == 1  # two registrations of one person in one batch: one contact
    assert world.facts_since(before).count("Participant.Registered") == 3


def test_a_failed_commit_fails_exactly_its_commands_and_writes_nothing(
    world: World, ledger: SealedContactLedger
) -> None:
    account = world.account()
    event = world.event(account)
    before = world.position()
    save = ledger.save_aggregates

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    ledger.save_aggregates = broken  # type: ignore[method-assign]
    emails = ["ada@example.org", "grace@example.org", "alan@example.org"]
    results = together(registrations(world, account, event, emails))
    ledger.save_aggregates = save  # type: ignore[method-assign]
    assert all(isinstance(r, CommitFailedError) for r in results)
    assert "disk full" in str(results[0])
    assert world.position() == before
    after = together(registrations(world, account, event, ["ada@example.org"]))
    assert world.contact_of(account, after[0].id) is not None


def test_a_batch_that_lost_a_race_is_decided_again_after_a_pause(
    world: World, ledger: SealedContactLedger
) -> None:
    account = world.account()
    event = world.event(account)
    pauses: list[float] = []
    group = GroupCommit(ledger, pause=pauses.append)
    ledger.runner = group
    run_batch, lost = ledger.run_batch, []

    def loses_once(decides: Any) -> Any:
        if not lost:
            lost.append(True)
            raise IntegrityError("another process claimed the key")
        return run_batch(decides)

    ledger.run_batch = loses_once  # type: ignore[method-assign]
    participant = world.register(account, event, email="ada@example.org")
    ledger.run_batch = run_batch  # type: ignore[method-assign]
    assert world.contact_of(account, participant) is not None
    assert len(pauses) == 1
    assert group.batches == 1


def test_more_commands_than_a_batch_takes_all_land(
    world: World, ledger: SealedContactLedger, slow_batches: list[int]
) -> None:
    account = world.account()
    event = world.event(account)
    ledger.runner = GroupCommit(ledger, max_batch=2)
    emails = [f"person{n}@example.org" for n in range(7)]
    results = together(registrations(world, account, event, emails))
    assert all(not isinstance(r, Exception) for r in results), results
    assert max(slow_batches) == 2
    assert len({world.contact_of(account, r.id).id for r in results}) == 7  # type: ignore[union-attr]
