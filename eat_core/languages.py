"""Facts about the languages we handle: names for prompts, tokenisation convention, script properties."""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.errors import ConfigError
from eat_core.registry import unknown_line

LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "hi": "Hindi",
    "hy": "Armenian",
    "ja": "Japanese",
    "ka": "Georgian",
    "ko": "Korean",
    "nl": "Dutch",
    "ru": "Russian",
    "zh": "Chinese",
}

CHARACTER_TOKENISED: frozenset[str] = frozenset({"zh", "ja"})
"""WikiANN tokenises these one character per token, so text is joined without spaces and aligned per character."""

PAPER_LANGUAGES: tuple[str, ...] = ("ar", "hi", "hy", "ja", "ka", "ko", "ru", "zh")
"""The eight non-Latin-script targets of EAT Table 4."""


def language_name(code: str) -> str:
    """Full English name for an ISO 639-1 code, as the prompts need it ("Korean", not "ko")."""
    try:
        return LANGUAGE_NAMES[code]
    except KeyError:
        raise ConfigError(unknown_languages([code])) from None


def unknown_languages(codes: Sequence[str], option: str | None = None) -> str:
    """The one line for unknown language codes: ``--lang: unknown language code 'zhh'; did you mean 'zh'?
    (known: ar, de, ...)`` (``codes`` for several)."""
    kind = "language code" if len(codes) == 1 else "language codes"
    return unknown_line(kind, codes, sorted(LANGUAGE_NAMES), option, label="known")


def parse_languages(value: str | Sequence[str] | None, option: str = "--languages") -> tuple[str, ...] | None:
    """``" ZH, ja ,zh"`` -> ``("zh", "ja")``: case-insensitive, spaces around commas ignored, duplicates collapsed."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else [part for v in value for part in str(v).split(",")]
    codes = list(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
    if not codes:
        raise ConfigError(f"{option}: no language given; known: {', '.join(sorted(LANGUAGE_NAMES))}")
    unknown = [c for c in codes if c not in LANGUAGE_NAMES]
    if unknown:
        raise ConfigError(unknown_languages(unknown, option))
    return tuple(codes)


def is_character_tokenised(lang: str) -> bool:
    return lang in CHARACTER_TOKENISED


def join_tokens(tokens: tuple[str, ...] | list[str], lang: str) -> str:
    """Render tokens as the text an LLM sees: no spaces for zh/ja, single spaces elsewhere."""
    return ("" if is_character_tokenised(lang) else " ").join(tokens)
