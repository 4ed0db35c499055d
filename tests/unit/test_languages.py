"""Any language: canonical codes, names from langcodes, facts from the script, and words in unspaced scripts."""

from __future__ import annotations

import pytest

from eat_core.data import segmentation
from eat_core.errors import ConfigError
from eat_core.languages import (
    BUNDLED_LANGUAGES,
    canonical_code,
    is_character_tokenised,
    is_known,
    is_right_to_left,
    join_tokens,
    language_name,
    parse_languages,
    writes_without_spaces,
)
from eat_core.tagging.tokenize import tokenize

FIRST_VERSION_NAMES = {"ar": "Arabic", "de": "German", "en": "English", "es": "Spanish", "fr": "French",
                       "hi": "Hindi", "hy": "Armenian", "ja": "Japanese", "ka": "Georgian", "ko": "Korean",
                       "nl": "Dutch", "ru": "Russian", "zh": "Chinese"}
"""The hand table of the first version: the prompts (so every cache key) of these languages must not change."""

PAN_X_DEV = ("af", "ar", "az", "be", "bg", "bh", "bn", "da", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fo", "fr",
             "gu", "he", "hi", "hu", "hy", "id", "is", "it", "ja", "jv", "ka", "kk", "ko", "ln", "lt", "mg", "ml", "mr",
             "ms", "my", "nl", "no", "pa", "pl", "pt", "qu", "ro", "ru", "rw", "sw", "ta", "te", "tl", "tr", "uk", "ur",
             "vi", "yo", "zh")
"""The 57 language directories of ../shared/data/wikiann (their names are data directory names: kept as they are)."""


def test_the_first_thirteen_keep_their_codes_and_names():
    assert sorted(BUNDLED_LANGUAGES) == sorted(FIRST_VERSION_NAMES)
    for code, name in FIRST_VERSION_NAMES.items():
        assert canonical_code(code) == code and language_name(code) == name


def test_every_pan_x_directory_name_is_a_known_canonical_code():
    assert len(PAN_X_DEV) == 57
    assert [c for c in PAN_X_DEV if canonical_code(c) != c] == []
    assert language_name("sw") == "Swahili" and language_name("yo") == "Yoruba" and language_name("my") == "Burmese"


@pytest.mark.parametrize(("tag", "code", "name"), [
    ("swa", "sw", "Swahili"),            # ISO 639-3 -> shortest ISO 639 code
    ("ger", "de", "German"),             # ISO 639-2/B
    ("ZH-hans", "zh", "Chinese"),        # the likely script is dropped, case folded
    ("zh-Hant", "zh-Hant", "Chinese (Traditional)"),
    ("zh_TW", "zh-Hant", "Chinese (Traditional)"),  # a region implying another script keeps it
    ("pt-BR", "pt", "Portuguese"),       # regions are dropped
    ("sr-Latn", "sr-Latn", "Serbian (Latin)"),
    ("iw", "he", "Hebrew"),              # withdrawn ISO 639-1 code
    ("tgl", "tl", "Tagalog"),            # not CLDR's tl -> fil alias
    ("yue", "yue", "Cantonese"),         # no ISO 639-1 code
    ("en-u-ca-gregory", "en", "English"),
])
def test_tags_map_to_one_canonical_code(tag, code, name):
    assert canonical_code(tag) == code and language_name(tag) == name


def test_parse_languages_canonicalises_and_collapses_duplicates():
    assert parse_languages("zh, zh-Hans, ZHO ,swa,sw") == ("zh", "sw")


@pytest.mark.parametrize(("value", "line"), [
    ("zhh", "--languages: unknown language code 'zhh'; did you mean 'zh' (Chinese)? "),
    ("swahili", "--languages: unknown language code 'swahili'; did you mean 'sw' (Swahili)? "),
    ("xx", "--languages: unknown language code 'xx' (an ISO 639-1/639-3 code"),
    ("qaa", "--languages: unknown language code 'qaa'"),  # private use: no name for the prompts
    ("zh-Hantx", "--languages: unknown language code 'zh-Hantx'"),
])
def test_unknown_codes_get_one_line_with_close_matches(value, line):
    with pytest.raises(ConfigError) as err:
        parse_languages(value)
    assert str(err.value).startswith(line) and "\n" not in str(err.value)
    assert not is_known(value)


def test_script_facts():
    assert [c for c in ("zh", "ja", "yue", "zh-Hant", "ko", "th", "en") if is_character_tokenised(c)] == [
        "zh", "ja", "yue", "zh-Hant"]
    assert [c for c in ("th", "lo", "km", "my", "zh", "ja", "ko", "vi", "en") if writes_without_spaces(c)] == [
        "th", "lo", "km", "my", "zh", "ja"]
    assert [c for c in ("ar", "he", "fa", "ur", "dv", "yi", "en", "hi", "sr-Latn") if is_right_to_left(c)] == [
        "ar", "he", "fa", "ur", "dv", "yi"]
    assert join_tokens(["กรุงเทพ", "ฯ"], "th") == "กรุงเทพฯ" and join_tokens(["a", "b"], "sw") == "a b"


# -- words in scripts written without spaces ----------------------------------------------------------------------

THAI = "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย ปี2020"
BURMESE = "မြန်မာနိုင်ငံ၏ မြို့တော်"


def _no_token_starts_with_a_mark(tokens) -> bool:
    import unicodedata

    return all(unicodedata.category(t[0])[0] != "M" for t in tokens)


def test_thai_is_cut_into_words_when_pythainlp_is_installed():
    pytest.importorskip("pythainlp")
    toks = tokenize(THAI, "th")
    assert toks.tokens == ("กรุงเทพมหานคร", "เป็น", "เมืองหลวง", "ของ", "ประเทศ", "ไทย", "ปี", "2020")
    assert all(THAI[s:e] == t for t, (s, e) in zip(toks.tokens, toks.offsets, strict=True))
    assert segmentation.segmentation_note("th") == "words (pythainlp newmm) for th"


def test_without_a_segmenter_thai_is_tagged_per_character_and_says_so(monkeypatch):
    monkeypatch.setitem(segmentation.SEGMENTER_INFO, "Thai",
                        segmentation.SegmenterInfo("none", "no_such_package_here", "thai"))
    segmentation.segmenter.cache_clear()
    try:
        toks = tokenize(THAI, "th")
        note = segmentation.segmentation_note("th")
    finally:
        segmentation.segmenter.cache_clear()
    assert note == "character (no segmenter installed for Thai; pip install 'eat-ner[thai]') for th"
    assert toks.tokens[:6] == ("ก", "รุ", "ง", "เ", "ท", "พ")  # the vowel sign stays on its consonant
    assert toks.tokens[-1] == "2020" and "".join(toks.tokens) == THAI.replace(" ", "")
    assert _no_token_starts_with_a_mark(toks.tokens)


def test_burmese_is_cut_into_grapheme_clusters_and_latin_stays_whole():
    toks = tokenize(BURMESE + " Yangon", "my")
    assert toks.tokens == ("မြ", "န်", "မာ", "နို", "င်", "ငံ", "၏", "မြို့", "တော်", "Yangon")
    assert _no_token_starts_with_a_mark(toks.tokens)
    assert tokenize("ភ្នំពេញ", "km").tokens == ("ភ្នំ", "ពេ", "ញ")  # the coeng keeps its subscript consonant
    assert segmentation.segmentation_note("my").startswith("character (grapheme clusters;")


def test_spaced_languages_are_untouched():
    assert tokenize("Putin visited กรุงเทพ.", "en").tokens == ("Putin", "visited", "กรุงเทพ", ".")
    assert segmentation.segmentation_note("en") is None and segmentation.segmentation_note("zh") is None


def test_the_projection_route_cuts_unspaced_translations_like_eat_tag():
    from eat_core.distill.projection import tokenise

    text = "กรุงเทพมหานครเป็นเมืองหลวง Paris."
    pieces = [text[s:e] for s, e in tokenise(text, "th")]
    assert len(pieces) > 3 and "".join(pieces[:-2]) == "กรุงเทพมหานครเป็นเมืองหลวง" and pieces[-2:] == ["Paris", "."]
    spaced = "Putin visited Paris."
    assert [spaced[s:e] for s, e in tokenise(spaced, "ru")] == ["Putin", "visited", "Paris", "."]
