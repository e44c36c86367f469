"""Replay = live: what a command left in memory equals what the stored events rebuild.

Random histories of registrations, edits (some with older times), status changes,
contact edits and deletions; after each commit every aggregate the command touched is
compared with a fresh reconstruction from the store (through the sealing mapper).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings

from adapters.ledger import build_ledger
from domain.aggregate import LedgerAggregate
from tests.support.backends import backend_settings
from tests.support.histories import History, operations
from tests.support.world import World


def run_and_compare(kind: str, ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        ledger = build_ledger(settings_)
        live: list[LedgerAggregate] = []
        keep_cache_fresh = ledger.committed

        def spy(aggregates: list[LedgerAggregate]) -> None:
            live.extend(aggregates)
            keep_cache_fresh(aggregates)

        ledger.committed = spy  # type: ignore[method-assign]
        history = History(World(ledger))
        live.clear()
        for op in ops:
            history.play(op)
            for aggregate in live:
                assert ledger.repository.get(aggregate.id) == aggregate
            live.clear()
        ledger.close()


@settings(max_examples=80, deadline=None)
@given(operations)
def test_replay_equals_live_in_memory(ops: list[tuple[Any, ...]]) -> None:
    run_and_compare("memory", ops)


@settings(max_examples=15, deadline=None)
@given(operations)
def test_replay_equals_live_on_sqlite(ops: list[tuple[Any, ...]]) -> None:
    run_and_compare("sqlite", ops)
