"""Background threads are waited for when the system closes, and named if they outstay it."""

from __future__ import annotations

import logging
import threading

import pytest

from adapters.threads import joined

log = logging.getLogger("contact_ledger.test")


def test_a_thread_that_outstays_its_stop_is_named(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="stuck-in-a-batch", daemon=True)
    thread.start()
    with caplog.at_level(logging.WARNING, log.name):
        joined(thread, 0.01, log)
        assert thread.is_alive()
        assert caplog.messages == [
            "thread 'stuck-in-a-batch' did not stop within 0.01 s: closing without it"
        ]
        release.set()
        joined(thread, 5, log)  # it ends: nothing more said
        joined(None, 5, log)  # never started
    assert not thread.is_alive()
    assert len(caplog.messages) == 1
