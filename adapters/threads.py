"""Stopping the service's background threads (projectors, job runner, purger)."""

from __future__ import annotations

import logging
import threading


def joined(thread: threading.Thread | None, seconds: float, log: logging.Logger) -> None:
    """Wait up to `seconds` for `thread` (told to stop) to end, and say so if it has not:
    the system then closes under it, with whatever it holds (a database connection)."""
    if thread is None:
        return
    thread.join(seconds)
    if thread.is_alive():
        log.warning("thread %r did not stop within %s s: closing without it", thread.name, seconds)
