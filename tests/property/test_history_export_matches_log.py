"""For random histories, the NDJSON export is the log: the same (position, aggregate,
version) sequence, every event of the one account; and an export after any position is
exactly the full export's rest (incremental exports add up to the whole)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import build_ledger
from tests.support.backends import backend_settings
from tests.support.histories import History, operations
from tests.support.history_export import ndjson_records
from tests.support.world import World


def export_matches_log(kind: str, ops: list[tuple[Any, ...]], cut: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as settings_:
        ledger = build_ledger(settings_)
        try:
            history = History(World(ledger))
            for op in ops:
                history.play(op)
            log = ledger.recorder.select_notifications(start=1, limit=100_000)
            records = ndjson_records(ledger)
            assert [(r["position"], r["aggregate_id"], r["version"]) for r in records] == [
                (n.id, str(n.originator_id), n.originator_version) for n in log
            ]
            assert {r["account_id"] for r in records} == {str(history.account_id)}
            after = int(cut * len(log))
            assert ndjson_records(ledger, after=after) == records[after:]
        finally:
            ledger.close()


@settings(max_examples=60, deadline=None)
@given(operations, st.floats(0, 1))
def test_export_matches_the_log_in_memory(ops: list[tuple[Any, ...]], cut: float) -> None:
    export_matches_log("memory", ops, cut)


@settings(max_examples=20, deadline=None)
@given(operations, st.floats(0, 1))
def test_export_matches_the_log_on_sqlite(ops: list[tuple[Any, ...]], cut: float) -> None:
    export_matches_log("sqlite", ops, cut)
