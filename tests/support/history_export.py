"""Helpers for the history export tests: run an export, read its records back."""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow.parquet as pq

from adapters.history.export import ExportReport, HistoryRequest, export_history
from adapters.ledger import SealedContactLedger


def exported(
    ledger: SealedContactLedger, request: HistoryRequest | None = None, fmt: str = "ndjson"
) -> tuple[bytes, ExportReport]:
    out = io.BytesIO()
    report = export_history(ledger, request or HistoryRequest(), fmt, out)
    return out.getvalue(), report


def ndjson_records(ledger: SealedContactLedger, **request: Any) -> list[dict[str, Any]]:
    raw, _ = exported(ledger, HistoryRequest(**request))
    return [json.loads(line) for line in raw.decode().splitlines()]


def parquet_as_json(raw: bytes) -> list[dict[str, Any]]:
    """Parquet rows in the NDJSON shape: `at` as ISO 8601, the payload parsed."""
    rows = pq.read_table(io.BytesIO(raw)).to_pylist()
    for row in rows:
        row["at"] = row["at"].isoformat()
        row["payload"] = json.loads(row["payload"])
    return rows
