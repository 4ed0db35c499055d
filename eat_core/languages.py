"""Facts about the languages we handle: canonical codes, English names for prompts, and what follows from the script.

Any language works. A user writes an ISO 639-1 code (``sw``), an ISO 639-3 code (``swa``, ``yue``) or a BCP-47 tag
(``zh-Hant``, ``pt-BR``, ``sr-Latn``), in any case; :func:`canonical_code` turns it into the one code used for data
directories, run ids and cache keys:

* the language subtag becomes its shortest ISO 639 code (``swa`` -> ``sw``, ``ger`` -> ``de``); a deprecated
  two-letter code becomes its replacement (``iw`` -> ``he``, ``in`` -> ``id``); other CLDR aliases are *not*
  applied, so ``tl`` stays Tagalog (not ``fil``) and ``no``, ``bh`` stay as WikiANN names its directories;
* the script subtag is kept only when it differs from the language's likely script, because then the prompts and
  the tokenisation differ (``zh-Hant``, ``sr-Latn``; ``zh-Hans`` -> ``zh``); a region may imply one
  (``zh-TW`` -> ``zh-Hant``);
* the region and everything after it are dropped (``pt-BR`` -> ``pt``): one data directory and one cache per
  language, and the prompts name the language;
* casing is BCP-47's: language lower case, script title case.

The 13 codes of the first version (``ar de en es fr hi hy ja ka ko nl ru zh``) are their own canonical form and keep
their names, so their run ids and cache keys are unchanged (``tests/unit/test_languages.py``).

Names come from ``langcodes`` with its ``language_data`` tables (CLDR), not from a hand table. Script facts come from
the script: the one a tag names, else the language's likely script (CLDR likely subtags), else none (tagging then
looks at the text, ``eat_core/data/segmentation.py``):

* character-tokenised, as WikiANN zh/ja: Han-based scripts (``Hani Hans Hant Jpan Hira Kana``);
* written without spaces between words: those, and the scripts of Unicode line-break class SA (UAX #14: Thai, Lao,
  Khmer, Myanmar, Tai scripts), which need a dictionary or model to find words;
* right to left: the scripts whose letters have Unicode bidi class R or AL.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from eat_core.errors import ConfigError

CHARACTER_SCRIPTS: frozenset[str] = frozenset({"Hani", "Hans", "Hant", "Jpan", "Hira", "Kana"})
"""WikiANN tokenises Chinese and Japanese one character per token; text is joined without spaces and aligned per
character."""

UNSPACED_SCRIPTS: frozenset[str] = frozenset({"Thai", "Laoo", "Khmr", "Mymr", "Tale", "Talu", "Lana", "Tavt",
                                              "Ahom"})
"""Unicode line-break class SA (UAX #14, "complex context": South East Asian scripts): no spaces between words."""

RTL_SCRIPTS: frozenset[str] = frozenset({"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Samr", "Mand",
                                         "Mend", "Yezi", "Armi", "Phnx", "Sogd", "Chrs", "Avst", "Nbat", "Palm"})
"""Scripts whose letters have Unicode bidi class R or AL (UAX #9)."""

PAPER_LANGUAGES: tuple[str, ...] = ("ar", "hi", "hy", "ja", "ka", "ko", "ru", "zh")
"""The eight non-Latin-script targets of EAT Table 4."""

BUNDLED_LANGUAGES: tuple[str, ...] = ("ar", "de", "en", "es", "fr", "hi", "hy", "ja", "ka", "ko", "nl", "ru", "zh")
"""The languages of the bundled sample (``eat_core/data/sample``) and of the first version, whose names and run ids
must never change."""

_NOT_LANGUAGES = frozenset({"und", "zxx", "mis", "mul"})
"""Valid ISO 639 codes that name no language a text is written in."""


@dataclass(frozen=True)
class Language:
    """One language as the pipeline uses it. ``script`` is an ISO 15924 code, or None when nothing says."""

    code: str
    name: str
    script: str | None

    @property
    def character_tokenised(self) -> bool:
        return self.script in CHARACTER_SCRIPTS

    @property
    def unspaced(self) -> bool:
        return self.script in CHARACTER_SCRIPTS or self.script in UNSPACED_SCRIPTS

    @property
    def right_to_left(self) -> bool:
        return self.script in RTL_SCRIPTS


# --- parsing and canonical codes ---------------------------------------------------------------------------------


@functools.cache
def _two_letter() -> dict[str, str]:
    """ISO 639-2/3 (terminological and bibliographic) -> ISO 639-1, without the deprecated two-letter codes."""
    import langcodes

    deprecated = _deprecated()
    table = {three: two for two, three in langcodes.LANGUAGE_ALPHA3.items() if two not in deprecated}
    table |= {three: two for two, three in langcodes.LANGUAGE_ALPHA3_BIBLIOGRAPHIC.items()}
    return table


@functools.cache
def _deprecated() -> dict[str, str]:
    """Withdrawn ISO 639-1 codes and their replacements (``iw`` -> ``he``): the two-letter to two-letter aliases."""
    import langcodes

    return {old: new for old, new in langcodes.LANGUAGE_REPLACEMENTS.items()
            if len(old) == 2 and len(new) == 2 and new.isalpha()}


def _likely_script(language: str, territory: str | None = None) -> str | None:
    """CLDR's likely script for a language (and region); None when CLDR has no data for it."""
    import langcodes

    tag = f"{language}-{territory}" if territory else language
    found = langcodes.Language.get(tag, normalize=False).maximize()
    if found.script == "Latn" and found.territory == "US" and language != "en" and (
            language not in langcodes.LIKELY_SUBTAGS):
        return None  # the fallback for an unknown language (und -> en-Latn-US), not a fact about this one
    return found.script


@functools.cache
def _resolve(tag: str) -> Language | None:
    """The :class:`Language` of a tag, or None when it names no known language."""
    import langcodes

    text = tag.strip().replace("_", "-")
    if not text or not text.isascii() or not langcodes.tag_is_valid(text):
        return None
    try:
        parsed = langcodes.Language.get(text, normalize=False)
    except (langcodes.LanguageTagError, ValueError):
        return None
    language = (parsed.language or "").lower()
    if not language or language in _NOT_LANGUAGES or language.startswith("q") and "qaa" <= language <= "qtz":
        return None
    language = _deprecated().get(language, language)
    language = _two_letter().get(language, language)
    if not langcodes.tag_is_valid(language):
        return None
    base = langcodes.Language.get(language, normalize=False)
    try:
        name = base.display_name("en")
    except ImportError as exc:  # pragma: no cover - language_data is a declared dependency
        raise ConfigError("language names need the 'language_data' package: pip install language_data") from exc
    if name.startswith("Unknown language"):
        return None
    default = _likely_script(language)
    script = parsed.script.title() if parsed.script else _likely_script(language, parsed.territory) or default
    code = language if script == default or script is None else f"{language}-{script}"
    if code != language:
        name = langcodes.Language.get(code, normalize=False).display_name("en")
    return Language(code, name, script)


def lookup(tag: str) -> Language:
    """The :class:`Language` of a code or tag; :class:`ConfigError` with close matches when it names none."""
    found = _resolve(tag)
    if found is None:
        raise ConfigError(unknown_languages([tag]))
    return found


def canonical_code(tag: str) -> str:
    """``"ZH-hans"`` -> ``"zh"``, ``"swa"`` -> ``"sw"``, ``"zh-TW"`` -> ``"zh-Hant"`` (see the module docstring)."""
    return lookup(tag).code


def is_known(tag: str) -> bool:
    return _resolve(tag) is not None


def language_name(code: str) -> str:
    """Full English name, as the prompts need it ("Korean", not "ko"; "Chinese (Traditional)" for ``zh-Hant``)."""
    return lookup(code).name


# --- one line for unknown codes ----------------------------------------------------------------------------------


def suggestions(tag: str, n: int = 3) -> list[str]:
    """Close known codes for a wrong one: spelled alike (``zhh`` -> ``zh``), or named so (``swahili`` -> ``sw``)."""
    import langcodes

    text = tag.strip().lower().replace("_", "-")
    out: list[str] = []
    if text.isascii() and text.isalpha() and len(text) > 3:
        with contextlib.suppress(LookupError, ConfigError, ValueError):
            out.append(canonical_code(str(langcodes.find(text))))
    head = text.split("-")[0]
    two = sorted(set(_two_letter().values()))
    pool = two if len(head) <= 3 else []
    out += difflib.get_close_matches(head, pool, n=n, cutoff=0.6)
    if len(head) == 3:
        out += [_two_letter()[c] for c in difflib.get_close_matches(head, list(_two_letter()), n=n, cutoff=0.67)]
    return [code for code in dict.fromkeys(out) if is_known(code)][:n]


def unknown_languages(codes: Sequence[str], option: str | None = None) -> str:
    """The one line for unknown language codes: ``--languages: unknown language code 'zhh'; did you mean 'zh'
    (Chinese)?`` (``codes`` for several; the hint is for the first)."""
    codes = list(codes)
    kind = "language code" if len(codes) == 1 else "language codes"
    prefix = f"{option}: " if option else ""
    close = suggestions(codes[0]) if codes else []
    hint = ("; did you mean " + " or ".join(f"{c!r} ({language_name(c)})" for c in close) + "?") if close else ""
    return (f"{prefix}unknown {kind} {', '.join(map(repr, codes))}{hint} "
            "(an ISO 639-1/639-3 code or BCP-47 tag such as sw, yue, zh-Hant)")


def parse_languages(value: str | Sequence[str] | None, option: str = "--languages") -> tuple[str, ...] | None:
    """``" ZH, ja ,zh-Hans"`` -> ``("zh", "ja")``: case-insensitive, spaces around commas ignored, canonical codes
    (:func:`canonical_code`), duplicates collapsed."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else [part for v in value for part in str(v).split(",")]
    wanted = [item.strip() for item in items if item.strip()]
    if not wanted:
        raise ConfigError(f"{option}: no language given; give ISO 639 codes or BCP-47 tags such as zh, sw, pt-BR")
    unknown = [w for w in dict.fromkeys(wanted) if not is_known(w)]
    if unknown:
        raise ConfigError(unknown_languages(unknown, option))
    return tuple(dict.fromkeys(canonical_code(w) for w in wanted))


# --- facts from the script ---------------------------------------------------------------------------------------


def script_of(lang: str) -> str | None:
    """ISO 15924 script of a code (``"Arab"`` for ``ar``); None for an unknown code or one CLDR has no data for."""
    found = _resolve(lang)
    return found.script if found else None


def is_character_tokenised(lang: str) -> bool:
    """True for Han-based scripts (zh, ja, yue, zh-Hant): one token per character, as WikiANN zh/ja."""
    return script_of(lang) in CHARACTER_SCRIPTS


def writes_without_spaces(lang: str) -> bool:
    """True when words are not separated by spaces (zh, ja, th, lo, km, my): tokens are joined without spaces."""
    script = script_of(lang)
    return script in CHARACTER_SCRIPTS or script in UNSPACED_SCRIPTS


def is_right_to_left(lang: str) -> bool:
    return script_of(lang) in RTL_SCRIPTS


def token_separator(lang: str) -> str:
    """What joins two tokens in running text: nothing where words are written without spaces (zh, ja as WikiANN has
    them; th, lo, km, my, whose tokens a segmenter or the character fallback cut out of unspaced text), a space
    elsewhere."""
    return "" if writes_without_spaces(lang) else " "


def join_tokens(tokens: tuple[str, ...] | list[str], lang: str) -> str:
    """Render tokens as the text an LLM sees: no spaces for zh/ja/th/..., single spaces elsewhere."""
    return token_separator(lang).join(tokens)
