"""Bulk work runs without the cyclic collector, and leaves it as it found it."""

from __future__ import annotations

import gc

import pytest

from adapters.collector import collector_paused


def test_the_collector_is_off_during_a_batch_and_back_after_even_on_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the batch failed")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
