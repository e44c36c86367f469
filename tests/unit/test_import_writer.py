"""The import's writer (decision 0029): batches saved in order while the next is decided,
each sent before it is finished, none finished once one has failed."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from adapters.importing.job import _Writer

WAIT = 10.0  # seconds: only ever reached if the writer is broken


def recorder(log: list[tuple[str, int]], what: str, batch: int) -> Callable[[], None]:
    return lambda: log.append((what, batch))


def test_each_batch_is_sent_then_finished_in_order() -> None:
    log: list[tuple[str, int]] = []
    with _Writer(depth=2) as writer:
        for batch in range(6):
            send = recorder(log, "send", batch) if batch % 3 else None  # some saved in one go
            writer.write(recorder(log, "finish", batch), {f"key{batch}"}, send)
    finished = [batch for what, batch in log if what == "finish"]
    assert finished == list(range(6))
    assert [batch for what, batch in log if what == "send"] == [1, 2, 4, 5]
    for what, batch in log:
        if what == "send":
            assert log.index(("send", batch)) < log.index(("finish", batch))


def test_no_batch_is_finished_once_one_has_failed() -> None:
    log: list[tuple[str, int]] = []

    def failing() -> None:
        raise OSError("the database went away")

    with pytest.raises(OSError, match="went away"), _Writer(depth=2) as writer:
        writer.write(failing, {"a"}, recorder(log, "send", 0))
        writer.write(recorder(log, "finish", 1), {"b"}, recorder(log, "send", 1))
        writer.wait()
    assert ("finish", 1) not in log  # its outcomes would count it done before batch 0


def test_a_batch_whose_sending_failed_is_not_finished() -> None:
    log: list[tuple[str, int]] = []

    def failing() -> None:
        raise BrokenPipeError("the helper is gone")

    with pytest.raises(BrokenPipeError), _Writer(depth=2) as writer:
        writer.write(recorder(log, "finish", 0), {"a"}, failing)
        writer.wait()
    assert log == []


def test_at_most_depth_batches_are_being_written() -> None:
    release = threading.Event()
    third_written = threading.Event()
    with _Writer(depth=2) as writer:
        writer.write(lambda: release.wait(WAIT), {"a"})
        writer.write(lambda: None, {"b"})

        def third() -> None:
            writer.write(lambda: None, {"c"})
            third_written.set()

        thread = threading.Thread(target=third)
        thread.start()
        assert not third_written.wait(0.2)  # it waits for the oldest batch
        release.set()
        assert third_written.wait(WAIT)
        thread.join()


def test_a_batch_waits_only_for_the_batches_that_carry_its_keys() -> None:
    first, second = threading.Event(), threading.Event()
    with _Writer(depth=2) as writer:
        writer.write(lambda: first.wait(WAIT) and None, {"a"})
        writer.write(lambda: second.wait(WAIT) and None, {"b"})
        writer.wait_if_writing({"c"})  # carried by neither: no wait
        assert len(writer._writing) == 2
        first.set()
        writer.wait_if_writing({"a", "c"})  # the first batch carries "a"
        assert len(writer._writing) == 1 and not second.is_set()
        second.set()
