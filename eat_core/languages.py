"""Facts about the languages we handle: names for prompts, tokenisation convention, script properties."""

from __future__ import annotations

from eat_core.errors import ConfigError

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
        known = ", ".join(sorted(LANGUAGE_NAMES))
        raise ConfigError(f"unknown language code {code!r}; known: {known}") from None


def is_character_tokenised(lang: str) -> bool:
    return lang in CHARACTER_TOKENISED


def join_tokens(tokens: tuple[str, ...] | list[str], lang: str) -> str:
    """Render tokens as the text an LLM sees: no spaces for zh/ja, single spaces elsewhere."""
    return ("" if is_character_tokenised(lang) else " ").join(tokens)
