"""Many clients sending numbered requests at once: how often each status came back, and
the bodies of the 201s (the concurrency probes of issues 22 and 23)."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

Send = Callable[[int], Any]  # request number -> response


def crowd(
    requests: int, clients: int, opened: Callable[[int], AbstractContextManager[Send]]
) -> tuple[Counter[int], list[dict[str, Any]]]:
    """`clients` threads take the numbers 0..requests-1 in turn; client i sends through
    what `opened(i)` gives. Answers by status, and the created bodies."""
    numbers = itertools.count()
    answers: Counter[int] = Counter()
    created: list[dict[str, Any]] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        with opened(index) as send:
            while (n := next(numbers)) < requests:
                reply = send(n)
                with lock:
                    answers[reply.status_code] += 1
                    if reply.status_code == 201:
                        created.append(reply.json())

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, created
