"""Properties of the edge's bounds: JSON nesting and the failed-authentication throttle,
each against a plain oracle."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from adapters.http.auth_throttle import AuthThrottle
from adapters.http.json_input import MAX_DEPTH, JsonInputError, parse_json


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _wrapped(value: Any, levels: list[bool]) -> Any:
    for as_object in levels:
        value = {"k": value} if as_object else [value]
    return value


documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="ab\x00"),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=8,
)


@given(documents, st.lists(st.booleans(), max_size=MAX_DEPTH + 10))
def test_a_document_is_accepted_iff_it_is_shallow_enough_and_has_no_nul(
    document: Any, levels: list[bool]
) -> None:
    value = _wrapped(document, levels)
    text = json.dumps(value)
    has_nul = "\\u0000" in text
    try:
        parsed = parse_json(text)
    except JsonInputError as error:
        assert _depth(value) > MAX_DEPTH or has_nul, error
    else:
        assert parsed == value
        assert _depth(value) <= MAX_DEPTH and not has_nul


events = st.lists(
    st.tuples(st.sampled_from(["fail", "wait"]), st.sampled_from(["a", "b"]), st.floats(0, 30)),
    max_size=40,
)


@given(events, st.integers(1, 5))
def test_an_address_is_throttled_iff_it_failed_limit_times_within_the_window(
    steps: list[tuple[str, str, float]], limit: int
) -> None:
    now = [0.0]
    throttle = AuthThrottle(limit=limit, window=60.0, clock=lambda: now[0])
    failures: dict[str, list[float]] = {"a": [], "b": []}
    for kind, address, seconds in steps:
        if kind == "wait":
            now[0] += seconds
        elif throttle.retry_after(address) is None:  # a throttled call is not looked up
            throttle.failed(address)
            failures[address].append(now[0])
        for name, times in failures.items():
            recent = [t for t in times if t > now[0] - 60.0]
            wait = throttle.retry_after(name)
            assert (wait is not None) == (len(recent) >= limit), (name, recent, wait)
            if wait is not None:
                assert 0 < wait <= 60
                # never lets it in too early (to a microsecond: 4.89 + 60 - 4.89 > 60 in floats)
                assert recent[-limit] + 60.0 - now[0] <= wait + 1e-6
