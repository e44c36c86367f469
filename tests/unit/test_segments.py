from __future__ import annotations

from typing import Any

import pytest

from domain.segments import SegmentError, fold_text, parse_segment

ADA = {"company": "Acme Corp", "status": "registered", "size": 12, "tags": ["vip", "press"]}


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ({"field": "company", "op": "eq", "value": "acme corp"}, True),
        ({"field": "company", "op": "ne", "value": "Acme Corp"}, False),
        ({"field": "company", "op": "contains", "value": "ACME"}, True),
        ({"field": "status", "op": "in", "value": ["attended", "registered"]}, True),
        ({"field": "size", "op": "range", "value": {"gte": 10, "lte": 20}}, True),
        ({"field": "size", "op": "range", "value": {"gte": "a"}}, False),
        ({"field": "city", "op": "empty"}, True),
        ({"field": "company", "op": "not_empty"}, True),
        ({"field": "tags", "op": "eq", "value": "vip"}, True),
        (
            {"all": [{"field": "company", "op": "not_empty"}, {"field": "city", "op": "empty"}]},
            True,
        ),
        (
            {
                "any": [
                    {"field": "city", "op": "not_empty"},
                    {"field": "size", "op": "eq", "value": 3},
                ]
            },
            False,
        ),
        ({"not": {"field": "city", "op": "not_empty"}}, True),
    ],
)
def test_evaluates_each_operator(segment: dict[str, Any], expected: bool) -> None:
    assert parse_segment(segment).matches(ADA) is expected


SOCIETE = {"company": "Société Générale", "last_name": "Lefèvre", "city": "Œuilly"}


@pytest.mark.parametrize(
    "segment",
    [
        {"field": "company", "op": "contains", "value": "generale"},
        {"field": "company", "op": "contains", "value": "SOCIÉTÉ GÉN"},
        {"field": "last_name", "op": "eq", "value": "lefevre"},
        {"field": "last_name", "op": "in", "value": ["LEFEVRE"]},
        {"field": "last_name", "op": "range", "value": {"gte": "lef", "lte": "leg"}},
    ],
)
def test_text_compares_with_case_and_accents_folded(segment: dict[str, Any]) -> None:
    assert parse_segment(segment).matches(SOCIETE)


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Élodie", "elodie"), ("MÜLLER", "muller"), ("Straße", "strasse"), ("ﬁona", "fiona")],
)
def test_folding_drops_case_and_accents(text: str, folded: str) -> None:
    assert fold_text(text) == folded


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ([], "must be an object"),
        ({"field": "x", "op": "like", "value": 1}, "unknown op"),
        ({"field": "x", "op": "in", "value": []}, "non-empty list"),
        ({"field": "x", "op": "range", "value": {"from": 1}}, "range"),
        ({"field": "x", "op": "empty", "value": 1}, "takes no value"),
        ({"all": []}, "non-empty list"),
        ({"all": [{"field": "x", "op": "empty"}], "any": []}, "unexpected keys"),
        ({"op": "eq", "value": 1}, "needs a 'field'"),
    ],
)
def test_refuses_a_malformed_filter_and_says_why(segment: Any, message: str) -> None:
    with pytest.raises(SegmentError, match=message):
        parse_segment(segment)


def test_refuses_filters_nested_too_deep() -> None:
    segment: dict[str, Any] = {"field": "x", "op": "empty"}
    for _ in range(10):
        segment = {"not": segment}
    with pytest.raises(SegmentError, match="deeper"):
        parse_segment(segment)


def test_the_json_form_round_trips() -> None:
    data = {
        "all": [
            {"field": "x", "op": "eq", "value": 1},
            {"not": {"field": "y", "op": "empty", "value": None}},
        ]
    }
    assert parse_segment(parse_segment(data).as_json()).as_json() == parse_segment(data).as_json()


def test_participation_matches_the_persons_live_participations() -> None:
    event = "5d1c3c62-0b5e-4a8e-9a59-8a1d2b3c4d5e"
    record = {"_participations": [(event, "attended")]}
    assert parse_segment({"participated": {"event_id": event.upper()}}).matches(record)
    assert parse_segment({"participated": {"event_id": event, "status": ["attended"]}}).matches(
        record
    )
    assert not parse_segment({"participated": {"event_id": event, "status": ["open"]}}).matches(
        record
    )
    assert not parse_segment({"participated": {"event_id": event}}).matches({})


@pytest.mark.parametrize(
    "body",
    [
        {"participated": "x"},
        {"participated": {"event_id": "nope"}},
        {"participated": {"event_id": "5d1c3c62-0b5e-4a8e-9a59-8a1d2b3c4d5e", "status": "a"}},
    ],
)
def test_refuses_a_malformed_participation(body: Any) -> None:
    with pytest.raises(SegmentError, match="participated"):
        parse_segment(body)
