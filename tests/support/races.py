"""Run calls in threads released at the same moment: the races the tests provoke."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def at_once(*calls: Callable[[], T]) -> list[T]:
    """Start one thread per call, release them together, wait for all.

    Answers the results in the order of `calls`; the first error raised in a thread is
    raised again here, so a failing racer fails the test.
    """
    gate = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            gate.wait(timeout=60)
            results[index] = call()
        except BaseException as error:  # reported to the caller below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
