"""The service's background threads (projectors, job runner, purger): keeping them alive
through a lost database connection, and stopping them.

A lost connection (a database restart, a terminated backend, a refused connection, a
SQLite file busy past its lock timeout) is not the work's fault: the thread waits a
little longer each time and tries again. Anything else is the work's own error.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator

import psycopg

FIRST_RETRY_SECONDS = 0.1
LONGEST_RETRY_SECONDS = 5.0


def joined(thread: threading.Thread | None, seconds: float, log: logging.Logger) -> None:
    """Wait up to `seconds` for `thread` (told to stop) to end, and say so if it has not:
    the system then closes under it, with whatever it holds (a database connection)."""
    if thread is None:
        return
    thread.join(seconds)
    if thread.is_alive():
        log.warning("thread %r did not stop within %s s: closing without it", thread.name, seconds)


def transient(error: BaseException) -> bool:
    """Is this a lost or refused database connection (worth retrying), whatever library
    wrapped the driver's error (eventsourcing, SQLAlchemy)?

    psycopg's OperationalError covers a terminated backend (AdminShutdown), a refused or
    broken connection, a cancelled statement, a lock timeout and the pool's own timeout;
    of SQLite's operational errors only a busy file is (a missing table is not).
    """
    for cause in _causes(error):
        if isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
            return True
        if isinstance(cause, sqlite3.OperationalError):
            return any(word in str(cause) for word in ("locked", "busy"))
    return False


def described(error: BaseException) -> str:
    """The driver's error in one line, for logs and `/health`: its class and the first
    line of its message, never a wrapper's text (SQLAlchemy's names the statement's
    parameters, which may be personal data)."""
    causes = list(_causes(error))
    driver = next((c for c in causes if isinstance(c, psycopg.Error | sqlite3.Error)), causes[-1])
    first_line = str(driver).strip().splitlines()[0] if str(driver).strip() else ""
    return f"{type(driver).__name__}: {first_line[:200]}".rstrip(": ")


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class Backoff:
    """The waits between retries: 0.1 s, doubling up to 5 s, cut short by `stop`."""

    def __init__(
        self,
        stop: threading.Event,
        first: float = FIRST_RETRY_SECONDS,
        longest: float = LONGEST_RETRY_SECONDS,
    ) -> None:
        self.stop, self.first, self.longest = stop, first, longest
        self.retries = 0

    @property
    def delay(self) -> float:
        factor: int = 2 ** max(0, self.retries - 1)  # int ** int is Any to the type checker
        return min(self.longest, self.first * factor)

    def failed(self, log: logging.Logger, who: str, error: BaseException) -> None:
        """Count a failure, log it in one line (no traceback, no personal data) and wait;
        returns early when the thread is told to stop."""
        self.retries += 1
        log.warning(
            "%s lost the database (%s); retry %d in %.1f s",
            who,
            described(error),
            self.retries,
            self.delay,
        )
        self.stop.wait(self.delay)

    def succeeded(self, log: logging.Logger, who: str) -> None:
        if self.retries:
            log.warning("%s reconnected after %d retries", who, self.retries)
        self.retries = 0
