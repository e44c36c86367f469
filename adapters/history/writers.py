"""Writers of history records: NDJSON lines here, Parquet row groups in `parquet.py`."""

from __future__ import annotations

import importlib.util
from typing import BinaryIO, Protocol

from adapters.history.records import HistoryRecord, dumps

FORMATS = ("ndjson", "parquet")
PARQUET_MISSING = (
    "--format parquet needs pyarrow, which a serve-only set-up leaves out: "
    "install it with .venv/bin/pip install -e '.[parquet]' (or bash scripts/setup.sh)"
)


def parquet_available() -> bool:
    """Is pyarrow installed (the `parquet` extra)? Looked up without importing it."""
    return importlib.util.find_spec("pyarrow") is not None


class HistoryWriter(Protocol):
    def write(self, record: HistoryRecord) -> None: ...
    def close(self) -> None: ...


class NdjsonWriter:
    """One JSON object per line, UTF-8."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    def write(self, record: HistoryRecord) -> None:
        self.out.write(dumps(record.as_json()).encode() + b"\n")

    def close(self) -> None:
        self.out.flush()


def writer_for(fmt: str, out: BinaryIO) -> HistoryWriter:
    if fmt == "ndjson":
        return NdjsonWriter(out)
    if fmt == "parquet":
        from adapters.history.parquet import ParquetHistoryWriter  # noqa: PLC0415 (pyarrow)

        return ParquetHistoryWriter(out)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
