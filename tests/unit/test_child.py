"""Messages to and from an import's helpers: what is sent is what is received."""

from __future__ import annotations

import io
import pickle
import uuid
from uuid import UUID, SafeUUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.importing.child import received, send


def round_trip(payload: object) -> object:
    pipe = io.BytesIO()
    send(pipe, "message", payload)
    pipe.seek(0)
    kind, answer = received(pipe, "testing")
    assert kind == "message"
    return answer


@given(st.uuids(), st.sampled_from(list(SafeUUID)))
def test_an_id_arrives_equal_with_its_safety(value: UUID, safe: SafeUUID) -> None:
    sent = UUID(int=value.int, is_safe=safe)
    arrived = round_trip({"ids": [sent, sent], "key": {sent: 1}})
    assert isinstance(arrived, dict)
    first, second = arrived["ids"]
    assert type(first) is UUID and first == sent and hash(first) == hash(sent)
    assert first.is_safe is safe and str(first) == str(sent) and first.version == sent.version
    assert second is first  # one object, as it was sent
    assert arrived["key"] == {sent: 1}


def test_ids_are_pickled_by_number_not_by_their_state() -> None:
    """The cheaper path (a call with the id's number) is the one taken: UUID's own
    __setstate__ is never called on the way back."""
    pipe = io.BytesIO()
    send(pipe, "message", [uuid.uuid4() for _ in range(3)])
    called = []

    def spied(self: UUID, state: object) -> None:  # pragma: no cover - must not run
        called.append(state)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(UUID, "__setstate__", spied)
        _, ids = pickle.loads(pipe.getvalue())
    assert called == [] and len(ids) == 3
