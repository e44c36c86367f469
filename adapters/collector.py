"""The cyclic garbage collector, paused while bulk work keeps many objects alive."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pauses:
    """The pauses in progress, in any thread, and whether the first found the collector on."""

    lock = threading.Lock()
    count = 0
    restore = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cyclic collection inside; the collector is left as it was found.

    Bulk work (an import batch until it commits, a projector's backlog with rows kept
    between batches and pages read ahead) keeps many objects alive, and the collector's
    automatic passes walk them again and again, finding nothing to free: their memory
    goes by reference counting. That cost an eighth of an import's time and 10-15 % of
    a rebuild. Callers collect themselves where it pays (the projector: the young
    generations between transactions).

    Pauses in several threads overlap (an import decides a batch while its writer thread
    commits the one before): the collector stays off until the last of them ends, then is
    as the first found it.
    """
    with _Pauses.lock:
        if _Pauses.count == 0:
            _Pauses.restore = gc.isenabled()
            gc.disable()
        _Pauses.count += 1
    try:
        yield
    finally:
        with _Pauses.lock:
            _Pauses.count -= 1
            if _Pauses.count == 0 and _Pauses.restore:
                gc.enable()
