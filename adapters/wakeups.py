"""How the background threads wait for work without spending CPU while there is none.

A projector waits for new events, the job runner for new jobs (decision 0047):
- PostgreSQL: LISTEN on a channel of its own connection; every insert into the event store
  NOTIFYs `<schema>_contactledger_events`, every job queued `<schema>_contactledger_jobs`
  (channels are per database: several ledgers in one database must not wake each
  other). The
  thread sleeps in the socket's wait and wakes on a notification, on `stop`, or after
  `longest` seconds (a safety net). A rebuild NOTIFYs the events' channel too.
- SQLite: one query that reads nothing, `PRAGMA data_version`, every `poll` seconds on a
  connection of its own. Its value changes whenever another connection (of this process or
  another) commits to the file, so the thread runs its real queries only after a commit.
- memory:// (tests): a plain sleep of `poll` seconds.

`wait()` returns True when something may have changed, False after `longest` without a
sign or when told to stop.
"""

from __future__ import annotations

import select
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg import sql

from adapters.settings import Database

JOBS = "contactledger_jobs"  # after the schema's name
STOP_CHECK_SECONDS = 0.2  # how soon a sleeping thread notices `stop` (a shutdown, a test's close)

Wait = Callable[[], bool]


def jobs_channel(database: Database) -> str:
    return f"{database.schema}_{JOBS}"[:63]


def waiter(
    database: Database, channel: str, stop: threading.Event, poll: float, longest: float
) -> AbstractContextManager[Wait]:
    if database.kind == "postgres":
        return PostgresNotifications(database, channel, stop, longest)
    if database.kind == "sqlite":
        return SqliteCommits(database.path, stop, poll, longest)
    return Sleeper(stop, poll)


def notify(connection: Any, channel: str) -> None:
    """Tell the waiters on `channel` (PostgreSQL; sent when the transaction commits)."""
    connection.exec_driver_sql("SELECT pg_notify(%(channel)s, '')", {"channel": channel})


class Sleeper(AbstractContextManager[Wait]):
    def __init__(self, stop: threading.Event, seconds: float) -> None:
        self.stop, self.seconds = stop, seconds

    def __enter__(self) -> Wait:
        return lambda: not self.stop.wait(self.seconds)

    def __exit__(self, *_: object) -> None:
        return None


class SqliteCommits(AbstractContextManager[Wait]):
    """Wakes after a commit to the file by any connection but the watcher's."""

    def __init__(self, path: str, stop: threading.Event, poll: float, longest: float) -> None:
        self.path, self.stop, self.poll, self.longest = path, stop, poll, longest
        self.watch: _FileWatch | None = None
        self.seen = -1  # -1: the first wait returns at once (nothing was read yet)

    def __enter__(self) -> Wait:
        self.watch = _FileWatch.joined(self.path, self.poll)
        return self._wait

    def _wait(self) -> bool:
        """Returns once the watcher has seen a commit since the last return. That is
        noted before the caller's queries run, so a commit during them is not missed: it
        only costs one round that finds nothing (the caller's own writes do the same)."""
        watch = self.watch
        assert watch is not None
        deadline = time.monotonic() + self.longest
        with watch.changed:
            while watch.commits == self.seen:
                left = deadline - time.monotonic()
                if self.stop.is_set() or left <= 0:
                    return False
                watch.changed.wait(min(STOP_CHECK_SECONDS, left))
            self.seen = watch.commits
            return True

    def __exit__(self, *_: object) -> None:
        if self.watch is not None:
            self.watch.left()


class _FileWatch:
    """One thread per SQLite file and process reads `PRAGMA data_version` every `poll`
    seconds and wakes every waiter when it changed: the projectors and the job runner
    share it, so an idle process wakes `1 / poll` times a second, not that many times per
    waiting thread."""

    _watches: dict[str, _FileWatch] = {}
    _lock = threading.Lock()

    def __init__(self, path: str, poll: float) -> None:
        self.path, self.poll = path, poll
        self.commits = 0  # how many changes it has seen
        self.changed = threading.Condition()
        self.users = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="sqlite-commits", daemon=True)

    @classmethod
    def joined(cls, path: str, poll: float) -> _FileWatch:
        with cls._lock:
            watch = cls._watches.get(path)
            if watch is None:
                watch = cls._watches[path] = _FileWatch(path, poll)
                watch.thread.start()
            watch.poll = min(watch.poll, poll)  # as often as its most pressed waiter asks
            watch.users += 1
            return watch

    def left(self) -> None:
        with self._lock:
            self.users -= 1
            if self.users <= 0 and self._watches.get(self.path) is self:
                del self._watches[self.path]
                self.stop.set()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        seen = None
        try:
            while not self.stop.wait(self.poll):
                try:
                    version = connection.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:  # wake them: their own queries meet it and back off
                    version = None
                if version != seen or version is None:
                    seen = version
                    with self.changed:
                        self.commits += 1
                        self.changed.notify_all()
        finally:
            connection.close()


class PostgresNotifications(AbstractContextManager[Wait]):
    """Wakes on a NOTIFY on `channel`."""

    def __init__(
        self, database: Database, channel: str, stop: threading.Event, longest: float
    ) -> None:
        self.database, self.channel, self.stop, self.longest = database, channel, stop, longest
        self.connection: psycopg.Connection[Any] | None = None

    def __enter__(self) -> Wait:
        db = self.database
        connection = psycopg.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=db.password or None,
            dbname=db.name,
            autocommit=True,
            connect_timeout=5,  # a server that is down: retried by the caller's back-off
        )
        try:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except BaseException:  # `__exit__` is not called when `__enter__` fails
            connection.close()
            raise
        self.connection = connection
        return self._wait

    def _wait(self) -> bool:
        """Sleeps in `select` on the connection's socket (psycopg's own `notifies` wakes
        ten times a second to look for Ctrl+C), waking every STOP_CHECK_SECONDS only to look at
        `stop`.
        A lost connection raises here, for the caller to reconnect."""
        assert self.connection is not None
        deadline = time.monotonic() + self.longest
        while not self.stop.is_set():
            if self._drained():  # also what arrived with an earlier answer
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([self.connection.fileno()], [], [], min(STOP_CHECK_SECONDS, left))
        return False

    def _drained(self) -> bool:
        """Were notifications waiting? All of them are taken: a burst of inserts wakes
        the caller once, and its next round reads whatever they announced."""
        assert self.connection is not None
        return sum(1 for _ in self.connection.notifies(timeout=0)) > 0

    def __exit__(self, *_: object) -> None:
        if self.connection is not None:
            self.connection.close()
