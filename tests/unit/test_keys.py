from __future__ import annotations

from uuid import uuid4

import pytest

from domain.keys import KeyHasher, key_values, normalise


def test_email_is_trimmed_and_lower_cased() -> None:
    assert normalise("email", "  Ada.Lovelace@Example.ORG ") == "ada.lovelace@example.org"


def test_names_are_trimmed_collapsed_case_folded_and_nfkc_normalised() -> None:
    assert normalise("last_name", "  DE   la  Fontaine ") == "de la fontaine"
    assert normalise("first_name", "ﬁona") == "fiona"  # NFKC folds the ligature


def test_accents_are_kept_so_spelling_variants_stay_different_people() -> None:
    assert normalise("last_name", "Lefèvre") != normalise("last_name", "Lefevre")


def test_a_key_with_a_missing_or_blank_field_has_no_value() -> None:
    key = ("email", "last_name")
    assert key_values(key, {"email": "a@b.org"}) is None
    assert key_values(key, {"email": "a@b.org", "last_name": "   "}) is None
    assert key_values(key, {"email": "A@b.org", "last_name": "Roux"}) == ("a@b.org", "roux")


def test_the_digest_is_keyed_and_holds_no_plaintext() -> None:
    account = uuid4()
    one, other = KeyHasher(b"s" * 32), KeyHasher(b"t" * 32)
    digest = one.digest(account, ("ada@example.org",))
    assert digest == one.digest(account, ("ada@example.org",))
    assert digest != other.digest(account, ("ada@example.org",))
    assert digest != one.digest(uuid4(), ("ada@example.org",))
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")  # an opaque hex digest, never the value


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        KeyHasher(b"short")
