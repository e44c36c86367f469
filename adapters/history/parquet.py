"""The Parquet writer of the history export: typed columns, streamed in row groups.

Imported only for a Parquet export: pyarrow takes a tenth of a second to import, which
no other command (nor a server worker) should pay.
"""

from __future__ import annotations

from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from adapters.history.records import COLUMNS, SCHEMA_VERSION, HistoryRecord, dumps

ROW_GROUP = 10_000  # records per row group: what the writer holds at most

# Typed as a list of any fields: the columns' fields are of different types (Field[Int64Type],
# Field[StringType], ...), whose join the type checker would take for a list of objects.
_FIELDS: list[pa.Field[Any]] = [
    pa.field("position", pa.int64(), nullable=False),
    pa.field("at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("account_id", pa.string()),
    pa.field("aggregate_type", pa.string(), nullable=False),
    pa.field("aggregate_id", pa.string(), nullable=False),
    pa.field("version", pa.int64(), nullable=False),
    pa.field("event_type", pa.string(), nullable=False),
    pa.field("actor", pa.string(), nullable=False),
    pa.field("role", pa.string(), nullable=False),
    pa.field("origin", pa.string(), nullable=False),
    pa.field("correlation_id", pa.string(), nullable=False),
    pa.field("causation_id", pa.string()),
    pa.field("erased", pa.bool_(), nullable=False),
    pa.field("payload", pa.string(), nullable=False),  # a JSON object
]
SCHEMA = pa.schema(_FIELDS, metadata={"contact_ledger.history_schema": SCHEMA_VERSION})


class ParquetHistoryWriter:
    """Typed columns, the payload as a JSON string; a row group every ROW_GROUP records."""

    def __init__(self, out: BinaryIO, row_group: int = ROW_GROUP) -> None:
        self.row_group = row_group
        self._writer = pq.ParquetWriter(out, SCHEMA)
        self._pending: list[HistoryRecord] = []

    def write(self, record: HistoryRecord) -> None:
        self._pending.append(record)
        if len(self._pending) >= self.row_group:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_batch(_batch(self._pending))
            self._pending = []


def _batch(records: list[HistoryRecord]) -> pa.RecordBatch:
    columns: dict[str, list[Any]] = {name: [getattr(r, name) for r in records] for name in COLUMNS}
    columns["payload"] = [dumps(p) for p in columns["payload"]]
    return pa.RecordBatch.from_pydict(columns, schema=SCHEMA)
