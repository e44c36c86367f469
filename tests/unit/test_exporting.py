"""Export cells: the CSV formula guard (decision 0039)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.exporting import FORMULA_START, NUMBER_LIKE, _text

TRIGGERED = st.builds(lambda start, rest: start + rest, st.sampled_from(FORMULA_START), st.text())


@given(st.one_of(st.text(), TRIGGERED))
def test_a_csv_cell_is_the_value_or_the_value_behind_a_quote(text: str) -> None:
    cell = _text(text)
    assert cell in (text, "'" + text)
    # what a spreadsheet would run as a formula is only ever a number or a phone number
    assert not cell.startswith(FORMULA_START) or NUMBER_LIKE.fullmatch(cell)


@given(st.from_regex(r"\+[0-9]{1,3}( [0-9]{1,4}){2,5}", fullmatch=True))
def test_phone_numbers_are_written_as_typed(phone: str) -> None:
    assert _text(phone) == phone
