"""The ledger's transcoder writes the library's JSON, to the byte, only faster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import example, given
from hypothesis import strategies as st

from adapters.mapper import LedgerTranscoder
from domain.application import MetaAsDict
from domain.meta import Meta


def registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), MetaAsDict()):
        transcoder.register(transcoding)
    return transcoder


zones = st.sampled_from([None, UTC, timezone(timedelta(hours=5, minutes=30))])
times = st.builds(lambda moment, zone: moment.replace(tzinfo=zone), st.datetimes(), zones)
metas = st.builds(Meta, st.text(), st.text(), st.text(), st.text(), st.none() | st.text())
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.uuids()
    | times
    | metas
    | st.decimals(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True) | st.text(max_size=6)
# what the mapper hands it: an event's attributes (ids, times, provenance, anything else)
event_states = st.builds(
    lambda basics, others: {**basics, **others},
    st.fixed_dictionaries(
        {"originator_id": st.uuids(), "timestamp": times, "meta": metas},
        optional={"account_id": st.uuids(), "edited_at": times, "fields": values},
    ),
    st.dictionaries(names, values, max_size=4),
)


@given(event_states | st.dictionaries(names, values, max_size=8) | values)
@example(  # each kind the transcoder writes itself, at the top where it does
    {"yes": True, "no": False, "none": None, "text": 'zoé "\\\n\x00\u2028', "n": 7, "x": 0.1}
)
def test_the_json_is_the_librarys_to_the_byte(state: Any) -> None:
    ours, theirs = registered(LedgerTranscoder()), registered(JSONTranscoder())
    encoded = ours.encode(state)
    assert encoded == theirs.encode(state)
    assert ours.encode(state) == encoded  # again, with each Meta's JSON kept
    assert theirs.decode(encoded) == theirs.decode(theirs.encode(state))


def test_an_event_state_round_trips() -> None:
    meta = Meta("user:1", "admin", "import", "c1")
    state = {
        "originator_id": uuid4(),
        "originator_version": 3,
        "timestamp": datetime(2026, 11, 22, 9, 30, tzinfo=UTC),
        "meta": meta,
        "fields": {"email": "zoé@example.org", "note": 'say "hi"\n'},
        "amount": Decimal("1.50"),
    }
    transcoder = registered(LedgerTranscoder())
    assert transcoder.decode(transcoder.encode(state)) == state
