"""Key claims commit with their events, in order, all or nothing, on every backend.

A unit of work hands the recorder a list of claims (KeyClaim: the key must be free;
KeyOffer: taken if free; KeyRelease: given up by its holder; SubjectShred: a subject's key
destroyed). The
three recorders apply them differently (PostgreSQL in one function call, by runs of the
same operation; SQLite and memory one by one), so random lists of them, over a few keys
and holders, are checked against a model that applies them one at a time: the key index
after each save is the model's, and a save the model says claims a taken key raises
IntegrityError and changes nothing.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.ledger import build_ledger
from domain.claims import Claim, KeyClaim, KeyOffer, KeyRelease, SubjectShred
from tests.conftest import _require
from tests.support.backends import backend_settings

SCOPES = (UUID(int=1), UUID(int=2))
DIGESTS = ("a", "b", "c")
HOLDERS = (UUID(int=11), UUID(int=12), UUID(int=13))
SUBJECTS = (UUID(int=21), UUID(int=22))

KEY_CLAIM = st.builds(
    lambda kind, scope, digest, holder: kind(scope, digest, holder),
    st.sampled_from([KeyClaim, KeyOffer, KeyRelease]),
    st.sampled_from(SCOPES),
    st.sampled_from(DIGESTS),
    st.sampled_from(HOLDERS),
)
SHRED = st.builds(
    lambda subject: SubjectShred(SCOPES[0], datetime(2026, 1, 1, tzinfo=UTC), subject),
    st.sampled_from(SUBJECTS),
)
SAVES = st.lists(st.lists(st.one_of(KEY_CLAIM, KEY_CLAIM, KEY_CLAIM, SHRED), max_size=8),
                 min_size=1, max_size=6)  # fmt: skip


def applied(index: dict[tuple[UUID, str], UUID], claims: list[Claim]) -> dict[Any, UUID] | None:
    """The key index after these claims one by one; None if one claims a taken key."""
    after = dict(index)
    for claim in claims:
        if isinstance(claim, SubjectShred):
            continue
        key = (claim.scope_id, claim.digest)
        if isinstance(claim, KeyClaim):
            if key in after:
                return None
            after[key] = claim.holder_id
        elif isinstance(claim, KeyOffer):
            after.setdefault(key, claim.holder_id)
        elif after.get(key) == claim.holder_id:
            del after[key]
    return after


def key_index(recorder: Any) -> dict[tuple[UUID, str], UUID]:
    return {
        (scope, digest): holder
        for scope in SCOPES
        for digest, holder in recorder.find_contacts(scope, DIGESTS).items()
    }


@pytest.mark.parametrize("kind", ["memory", "sqlite", "postgres"])
@settings(max_examples=40, deadline=None)
@given(saves=SAVES)
def test_claims_apply_in_order_all_or_nothing(kind: str, saves: list[list[Claim]]) -> None:
    _require(kind)
    with tempfile.TemporaryDirectory() as tmp, backend_settings(kind, Path(tmp)) as config:
        ledger = build_ledger(config)
        recorder = ledger.recorder
        try:
            recorder.insert_events(  # subjects with keys, for shredding
                [StoredEvent(s, 1, "test:Subject", b"{}") for s in SUBJECTS],
                subject_keys={s: bytes(32) for s in SUBJECTS},
            )
            model: dict[tuple[UUID, str], UUID] = {}
            shredded: set[UUID] = set()
            for claims in saves:
                event = StoredEvent(uuid.uuid4(), 1, "test:Saved", b"{}")
                expected = applied(model, claims)
                if expected is None:
                    with pytest.raises(IntegrityError):
                        recorder.insert_events([event], key_claims=claims)
                else:
                    recorder.insert_events([event], key_claims=claims)
                    model = expected
                    shredded |= {c.subject_id for c in claims if isinstance(c, SubjectShred)}
                assert key_index(recorder) == model
                keys, gone = recorder.subject_keys(SUBJECTS)
                assert gone == shredded
                assert set(keys) == set(SUBJECTS) - shredded
        finally:
            ledger.close()
