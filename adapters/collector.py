"""The cyclic garbage collector, paused while bulk work keeps many objects alive."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cyclic collection inside; the collector is left as it was found.

    Bulk work (an import batch until it commits, a projector's backlog with rows kept
    between batches and pages read ahead) keeps many objects alive, and the collector's
    automatic passes walk them again and again, finding nothing to free: their memory
    goes by reference counting. That cost an eighth of an import's time and 10-15 % of
    a rebuild. Callers collect themselves where it pays (the projector: the young
    generations between transactions).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
