"""Key-index claims are named values: what each asks is in its type, not in a slot's text."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from uuid import uuid4

from domain.claims import KeyClaim, KeyOffer, KeyRelease, SubjectShred


def test_the_same_key_claimed_offered_or_released_are_three_different_things() -> None:
    scope_id, holder_id = uuid4(), uuid4()
    asked = {kind(scope_id, "digest", holder_id) for kind in (KeyClaim, KeyOffer, KeyRelease)}
    assert len(asked) == 3


def test_a_shred_keeps_its_time_as_a_time() -> None:
    at = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)
    shred = SubjectShred(account_id=uuid4(), at=at, subject_id=uuid4())
    assert shred.at == at


def test_claims_cross_to_the_import_helper_process_unchanged() -> None:
    claims = [
        KeyClaim(uuid4(), "a", uuid4()),
        KeyOffer(uuid4(), "b", uuid4()),
        KeyRelease(uuid4(), "c", uuid4()),
        SubjectShred(uuid4(), datetime(2026, 1, 1, tzinfo=UTC), uuid4()),
    ]
    assert pickle.loads(pickle.dumps(claims)) == claims
