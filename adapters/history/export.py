"""Export the event log: read it in pages, decode (unseal) each event, resolve its
account, keep what the request asks for and hand the records to a writer."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

from eventsourcing.utils import resolve_topic

from adapters.history.accounts import AccountResolver
from adapters.history.records import HistoryRecord, record_of
from adapters.history.writers import writer_for
from adapters.ledger import SealedContactLedger

PAGE = 2_000  # log entries per read, as the projector reads


@dataclass(frozen=True)
class HistoryRequest:
    account_id: UUID | None = None  # only this account's events
    after: int = 0  # only events after this log position
    until: datetime | None = None  # stop at the first event later than this (tz-aware)

    def __post_init__(self) -> None:
        if self.after < 0:
            raise ValueError("after must be a log position (0 or more)")
        if self.until is not None and self.until.tzinfo is None:
            raise ValueError("until must carry a UTC offset")


@dataclass
class ExportReport:
    read: int = 0  # log entries read
    written: int = 0  # records written
    last_position: int | None = None  # of the last record written
    lookups: int = 0  # aggregates whose account was read from their first event


def history_records(
    ledger: SealedContactLedger,
    request: HistoryRequest,
    report: ExportReport,
    progress: Callable[[int], None] | None = None,
) -> Iterator[HistoryRecord]:
    """The requested records in log order, each event decoded through the sealing mapper
    (a shredded subject's personal attributes come out as stand-ins)."""
    resolver = AccountResolver(ledger)
    start = request.after
    while page := ledger.recorder.select_notifications(start=start + 1, limit=PAGE):
        for record in _page_records(ledger, resolver, page, request):
            if record is None:
                return
            yield record
        start = page[-1].id
        report.read += len(page)
        report.lookups = resolver.lookups
        if progress is not None:
            progress(len(page))


def _page_records(
    ledger: SealedContactLedger, resolver: AccountResolver, page: Any, request: HistoryRequest
) -> Iterator[HistoryRecord | None]:
    """The page's records; None once an event is later than `until` (the export ends)."""
    ledger.keyring.prefetch({n.originator_id for n in page})
    events = [ledger.mapper.to_domain_event(n) for n in page]
    accounts = resolver.accounts_of(events)
    for notification, event, account_id in zip(page, events, accounts, strict=True):
        if request.until is not None and event.timestamp > request.until:
            yield None
            return
        if request.account_id is None or account_id == request.account_id:
            yield record_of(notification.id, event, account_id, _erased(ledger, event))


def _erased(ledger: SealedContactLedger, event: Any) -> bool:
    """Whether the event's aggregate is a data subject whose key has been shredded."""
    event_class: type = type(event)  # type[Any] is not Hashable to mypy; a type is
    if not _holds_personal_data(event_class):
        return False
    return ledger.keyring.key_for(event.originator_id) is None


@functools.cache
def _holds_personal_data(event_class: type) -> bool:
    aggregate = event_class.__qualname__.split(".")[0]
    return bool(resolve_topic(f"{event_class.__module__}:{aggregate}").holds_personal_data)


def export_history(
    ledger: SealedContactLedger,
    request: HistoryRequest,
    fmt: str,
    out: BinaryIO,
    progress: Callable[[int], None] | None = None,
) -> ExportReport:
    """Write the requested history to `out` in `fmt` (ndjson or parquet)."""
    report = ExportReport()
    writer = writer_for(fmt, out)
    for record in history_records(ledger, request, report, progress):
        writer.write(record)
        report.written += 1
        report.last_position = record.position
    writer.close()
    return report


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A new file beside `path`, moved onto it only if the block ends without error:
    a failed export leaves no file (and any earlier one untouched)."""
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise
