"""Runs projections: catches a read model up with the event log, exactly once, in batches.

Many events per transaction (rows and position commit together); resumable from the
stored position after a crash; fail-stop: an event that cannot be applied stops the
projector with the reason (it never skips). A lost database connection is not such an
event: the projector reconnects with back-off and resumes from its stored position.
Follows new events by LISTEN/NOTIFY on PostgreSQL and by polling on SQLite.

A projector following the log in this process keeps its state in memory (`live()`), so
`/health` and `?after=` read it without a database query or a thread.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

from adapters import wakeups
from adapters.collector import collector_paused
from adapters.ledger import SealedContactLedger
from adapters.settings import Database
from adapters.sql.tracking import ConcurrentProjectorError
from adapters.threads import Backoff, described, joined, transient

log = logging.getLogger("contact_ledger.projector")
PAGE = 2_000  # log entries per read
MAX_BATCH_EVENTS = 5_000  # per transaction, when pages read ahead are waiting
# Without any sign of new events, a following projector still looks once a minute: what
# no NOTIFY announced (a NOTIFY lost with a connection) is applied then.
LONGEST_WAIT_SECONDS = 60.0


class Batches(Protocol):
    def apply(self, events: Sequence[Any], start: int, end: int) -> None: ...


class ReadModelStore(Protocol):
    """A read model the projector feeds: the grid, the audit trail."""

    name: str
    topics: frozenset[str] | None  # the event topics it needs (None: every event)
    positioned: bool  # it is given (log position, event) pairs instead of events
    personal: bool  # False: its events are decoded without their personal data

    def batches(self) -> Batches: ...
    def position(self) -> int: ...
    def reset(self) -> None: ...
    def ensure_schema(self) -> bool: ...


FOLLOWING = "following"  # applying the log as it grows, in this process
RETRYING = "retrying"  # lost the database: reconnecting with back-off
STOPPED = "stopped"  # fail-stop: an event it cannot apply
ELSEWHERE = "elsewhere"  # not followed in this process (another process, or nobody)


@dataclass(frozen=True)
class LiveState:
    """What a projector following the log in this process knows of itself."""

    state: str  # FOLLOWING, RETRYING or STOPPED
    position: int  # the last position it committed (or read back from the database)
    error: str | None  # STOPPED: why; RETRYING: the last connection error


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    error: str | None

    @property
    def lag(self) -> int:
        return max(0, self.head - self.position)

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "head": self.head,
            "lag": self.lag,
            "error": self.error,
        }


class Projector:
    def __init__(
        self,
        ledger: SealedContactLedger,
        store: ReadModelStore,
        database: Database,
        batch_size: int = PAGE,
        poll_seconds: float = 0.05,
        max_batch_events: int = MAX_BATCH_EVENTS,
        stop: int | None = None,
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.database = database
        self.batch_size = batch_size  # log entries per read
        self.max_batch_events = max_batch_events  # per transaction, when pages wait
        self.poll_seconds = poll_seconds
        self.stop_at = stop  # the last log position to apply (None: the head, then follow)
        self.error: str | None = None  # fail-stop: the event it could not apply
        self.retrying: str | None = None  # the connection error it is reconnecting after
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._following = False
        self._position = 0  # the last known position: committed here, or read back
        self._position_lock = threading.Lock()

    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0

    def status(self) -> ProjectionStatus:
        """Position, head and lag come from the database, whichever process projects."""
        return ProjectionStatus(self.store.name, self.store.position(), self.head(), self.error)

    def live(self) -> LiveState | None:
        """Its state from memory while it follows the log in this process (None: it does
        not, so only the database knows where it is). No query, no lock held for long."""
        if self.error is not None:
            return LiveState(STOPPED, self._position, self.error)
        if not self._following:
            return None
        if self.retrying is not None:
            return LiveState(RETRYING, self._position, self.retrying)
        return LiveState(FOLLOWING, self._position, None)

    def _known(self, position: int, committed: bool) -> None:
        """Remember the position: one this process committed only ever moves it forward
        (the purger catches up in its own thread too); one read back from the database
        is the truth, even backwards (a rebuild elsewhere restarted the model)."""
        with self._position_lock:
            self._position = max(self._position, position) if committed else position

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply every event not yet applied; returns how many log entries were read."""
        read = 0
        batches = self.store.batches()
        start = self.store.position()
        self._known(start, committed=False)
        while True:
            try:
                with contextlib.closing(self._pages(start)) as pages:  # stops its reader
                    for page in pages:
                        batches.apply(page.events, start, page.end)
                        start = page.end
                        self._known(start, committed=True)
                        read += page.read
                        if progress is not None:
                            progress(page.read)
                return read
            except ConcurrentProjectorError:
                start = self.store.position()
                self._known(start, committed=False)

    def _pages(self, start: int) -> Generator[_Page]:
        """Decoded pages from `start` on. Live events come a few at a time; once a page
        comes back full (a backlog), a reader thread reads and decodes the next pages
        while this one is written, and pages already waiting share one transaction."""
        while (page := self._read(start)) is not None:
            if page.read < self.batch_size:
                yield page
                start = page.end
                continue
            with _ReadAhead(self._read, page.end) as ahead, collector_paused():
                yield page
                while (page := ahead.take(self.max_batch_events)) is not None:
                    yield page
                    gc.collect(1)  # between transactions: only what this batch left
            return

    def _read(self, start: int) -> _Page | None:
        notifications = self.ledger.recorder.select_notifications(
            start=start + 1, limit=self.batch_size, stop=self.stop_at
        )
        if not notifications:
            return None
        topics = self.store.topics
        wanted = [n for n in notifications if topics is None or n.topic in topics]
        events: list[Any] = self._decode(wanted)
        if self.store.positioned:
            events = [(n.id, event) for n, event in zip(wanted, events, strict=True)]
        return _Page(notifications[-1].id, events, len(notifications))

    def _decode(self, notifications: list[Any]) -> list[Any]:
        mapper = self.ledger.mapper
        if not self.store.personal:
            return [mapper.to_anonymous_event(n) for n in notifications]
        self.ledger.keyring.prefetch({n.originator_id for n in notifications})
        return [mapper.to_domain_event(n) for n in notifications]

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop the read model and build it again from the whole log."""
        self.store.reset()
        self._announce_reset()
        return self.catch_up(progress)

    def _announce_reset(self) -> None:
        """Wake the projectors following the log elsewhere (a running `serve`): each reads
        the restarted position back, so its position in memory, which `/health` and
        `?after=` read, does not stay ahead of the emptied model. SQLite's watchers see
        the reset's commit; PostgreSQL's listeners need the NOTIFY every insert sends."""
        recorder = self.ledger.recorder
        channel = getattr(recorder, "channel_name", None)
        # a postgres database's recorder is always PostgreSQL's (the isinstance is for mypy)
        if (
            self.database.kind == "postgres"
            and channel
            and isinstance(recorder, PostgresApplicationRecorder)
        ):
            with recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(SQL("NOTIFY {}").format(Identifier(channel)))

    # --- following ------------------------------------------------------------------

    def start(self) -> None:
        """Follow the log in a background thread until `stop()`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.follow, name="projector", daemon=True)
        self._thread.start()

    def stopping(self) -> None:
        """Ask the thread to stop, without waiting for it (`stop` waits)."""
        self._stop.set()

    def stop(self) -> None:
        self.stopping()
        joined(self._thread, 10, log)

    def follow(self) -> None:
        """Catch up, then apply new events as they come, until `stop()` or an event it
        cannot apply (fail-stop). A lost connection, its LISTEN one included, is retried
        with back-off; every retry resumes from the stored position."""
        self.error = self.retrying = None
        self._following = True
        backoff = Backoff(self._stop)
        who = f"projector {self.store.name}"
        try:
            while not self._stop.is_set():
                try:
                    self._follow_connected(backoff, who)
                except Exception as error:
                    if not transient(error):
                        self._fail_stop(error)
                        return
                    self.retrying = described(error)
                    backoff.failed(log, who, error)
        finally:
            self._following = False

    def _follow_connected(self, backoff: Backoff, who: str) -> None:
        with self._waiter() as wait:
            while not self._stop.is_set():
                caught_up = self.catch_up() == 0
                if self.retrying is not None:
                    self.retrying = None
                    backoff.succeeded(log, who)
                if caught_up:
                    wait()

    def _fail_stop(self, error: Exception) -> None:
        """Say why, never skip. The position is the one in memory: the database may be
        what failed, and the handler must not fail in turn."""
        self.error = f"{type(error).__name__}: {error}"
        log.exception("projector %s stopped at position %s", self.store.name, self._position)

    def _waiter(self) -> Any:
        channel = getattr(self.ledger.recorder, "channel_name", "")  # what inserts NOTIFY
        return wakeups.waiter(
            self.database, channel, self._stop, self.poll_seconds, LONGEST_WAIT_SECONDS
        )


@dataclass
class _Page:
    end: int  # the log position it reaches
    events: list[Any]  # decoded, of the grid's topics
    read: int  # log entries read


class _ReadAhead:
    """A thread reading pages ahead (psycopg and sqlite3 release the GIL while they
    wait). An error it meets is raised by `take`, after the pages before it."""

    def __init__(self, read: Callable[[int], _Page | None], start: int, depth: int = 8) -> None:
        self._queue: queue.Queue[_Page | BaseException | None] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(read, start), name="projector-reader", daemon=True
        )

    def __enter__(self) -> _ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.01)
        self._thread.join()

    def take(self, max_events: int) -> _Page | None:
        """The next page, merged with those already waiting up to `max_events` events."""
        page = self._unwrap(self._queue.get())
        while page is not None and len(page.events) < max_events:
            try:
                following = self._queue.get_nowait()
            except queue.Empty:
                break
            if following is None or isinstance(following, BaseException):
                self._queue.put(following)  # after this page; the reader has stopped
                break
            page = _Page(following.end, page.events + following.events, page.read + following.read)
        return page

    @staticmethod
    def _unwrap(item: _Page | BaseException | None) -> _Page | None:
        if isinstance(item, BaseException):
            raise item
        return item

    def _run(self, read: Callable[[int], _Page | None], start: int) -> None:
        try:
            while not self._stop.is_set():
                page = read(start)
                self._put(page)
                if page is None:
                    return
                start = page.end
        except BaseException as error:  # handed to the projector's thread: fail-stop there
            self._put(error)

    def _put(self, item: _Page | BaseException | None) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(queue.Full):
                self._queue.put(item, timeout=0.05)
                return
