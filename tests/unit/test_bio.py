"""IOB2 tags <-> spans, orphan repair and the IO scheme (eat_core/bio.py): every score and reader rests on them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eat_core.bio import (
    find_orphan_inside,
    iob1_to_iob2,
    is_valid_tag,
    repair_orphan_inside,
    spans_from_tags,
    tags_from_spans,
    to_io,
)
from eat_core.types import ENTITY_TYPES, Span

ANY_TAG = st.sampled_from(["O"] + [f"{p}-{t}" for p in "BI" for t in ENTITY_TYPES])


@st.composite
def spans_and_length(draw) -> tuple[list[Span], int]:
    """Non-overlapping spans over a sentence of ``length`` tokens, with gaps of any size (0 included)."""
    spans, position = [], draw(st.integers(0, 3))
    for _ in range(draw(st.integers(0, 6))):
        width = draw(st.integers(1, 4))
        spans.append(Span(position, position + width, draw(st.sampled_from(ENTITY_TYPES))))
        position += width + draw(st.integers(0, 2))
    return spans, position + draw(st.integers(0, 3))


@given(spans_and_length())
def test_spans_round_trip_through_iob2_tags(case):
    spans, length = case
    tags = tags_from_spans(spans, length)
    assert len(tags) == length and all(is_valid_tag(t) for t in tags)
    assert find_orphan_inside(tags) == []  # what tags_from_spans writes is strict IOB2
    assert spans_from_tags(tags) == sorted(spans)


@given(st.lists(ANY_TAG, max_size=20))
def test_repaired_tags_are_strict_and_round_trip(tags):
    repaired, fixed = repair_orphan_inside(tags)
    assert find_orphan_inside(repaired) == []
    assert fixed == find_orphan_inside(tags)
    assert all(repaired[i].startswith("B-") and repaired[i][2:] == tags[i][2:] for i in fixed)
    assert [t for i, t in enumerate(tags) if i not in fixed] == [t for i, t in enumerate(repaired) if i not in fixed]
    assert tags_from_spans(spans_from_tags(repaired), len(tags)) == tuple(repaired)
    assert to_io(repaired) == to_io(tags)  # repair changes boundaries, never a token's type


@pytest.mark.parametrize(("tags", "orphans", "repaired"), [
    (["O", "I-PER", "I-PER"], [1], ["O", "B-PER", "I-PER"]),
    (["B-PER", "I-LOC"], [1], ["B-PER", "B-LOC"]),  # a type change inside a span starts a new one
    (["I-ORG"], [0], ["B-ORG"]),
    (["B-LOC", "I-LOC", "O", "B-LOC"], [], ["B-LOC", "I-LOC", "O", "B-LOC"]),
])
def test_orphan_inside_tags_are_found_and_start_an_entity(tags, orphans, repaired):
    assert find_orphan_inside(tags) == orphans
    assert repair_orphan_inside(tags) == (repaired, orphans)


def test_spans_read_leniently_and_iob1_is_rewritten():
    assert spans_from_tags(["B-PER", "I-LOC", "I-LOC", "O"]) == [Span(0, 1, "PER"), Span(1, 3, "LOC")]
    assert spans_from_tags(["B-PER", "B-PER"]) == [Span(0, 1, "PER"), Span(1, 2, "PER")]
    assert iob1_to_iob2(["I-PER", "I-PER", "I-LOC", "O", "I-ORG"]) == ["B-PER", "I-PER", "B-LOC", "O", "B-ORG"]


def test_to_io_drops_the_boundary_prefix():
    assert to_io(["B-PER", "I-PER", "O", "B-LOC"]) == ["PER", "PER", "O", "LOC"]


@pytest.mark.parametrize(("spans", "length", "error"), [
    ([Span(0, 2, "PER"), Span(1, 3, "LOC")], 4, "overlaps"),
    ([Span(2, 5, "PER")], 4, "beyond sentence length"),
])
def test_tags_from_spans_refuses_overlap_and_overrun(spans, length, error):
    with pytest.raises(ValueError, match=error):
        tags_from_spans(spans, length)


def test_tag_validity():
    assert is_valid_tag("O") and is_valid_tag("I-ORG")
    assert not is_valid_tag("B-MISC") and not is_valid_tag("E-PER") and not is_valid_tag("PER")
