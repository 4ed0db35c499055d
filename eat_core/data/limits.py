"""Input limits: a token or sentence too long for the prompt is refused with file and line, or truncated and counted.

Limits are in characters (a token; a sentence as the language writes it) and in model tokens. Model tokens are
bounded without loading any tokenizer: byte-level BPE tokenizers (Qwen2.5, GPT, Llama 3) never emit more tokens
than the text has UTF-8 bytes, so ``len(text.encode())`` is an upper bound and a sentence within it cannot overflow.

Contract, by example (limits of 5 characters per token, error mode)::

    apply_limits([Sentence("zh-dev-0", "zh", ("abcdefgh",))], limits, path=Path("zh/dev.tsv"))
    -> DataError("zh/dev.tsv:1: token of 8 characters is longer than the limit of 5 (data.max_token_chars) ...")
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eat_core.errors import DataError
from eat_core.types import Sentence

DEFAULT_MAX_TOKEN_CHARS = 200
"""Longest token accepted (characters). The longest in the WikiANN files of the 13 bundled languages has 74."""
DEFAULT_MAX_SENTENCE_CHARS = 4000
"""Longest sentence accepted (characters). The longest WikiANN sentence there has 2,298."""
DEFAULT_MAX_SENTENCE_TOKENS = 4096
"""Longest sentence accepted in model tokens (bounded by UTF-8 bytes; WikiANN's longest: 3,546 bytes). A sentence
appears in each MrCoT round's prompt, so 3 rounds of 4,096 stay far inside Qwen2.5's 32k context."""
OVERLONG_MODES = ("error", "truncate")


@dataclass(frozen=True)
class InputLimits:
    max_token_chars: int = DEFAULT_MAX_TOKEN_CHARS
    max_sentence_chars: int = DEFAULT_MAX_SENTENCE_CHARS
    max_sentence_tokens: int = DEFAULT_MAX_SENTENCE_TOKENS
    overlong: str = "error"

    @classmethod
    def from_config(cls, data) -> InputLimits:
        """From a ``DataConfig``."""
        return cls(data.max_token_chars, data.max_sentence_chars, data.max_sentence_tokens, data.overlong)


def model_tokens_bound(text: str) -> int:
    """An upper bound on the model tokens of ``text`` for byte-level BPE tokenizers: its UTF-8 byte count."""
    return len(text.encode("utf-8"))


def _sentence_index(sentence: Sentence) -> int | None:
    tail = sentence.id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _line_of(path: Path | None, sentence: Sentence, token: int) -> int | None:
    """The file line of ``token`` of ``sentence`` (the k-th blank-line separated block holds sentence k)."""
    index = _sentence_index(sentence)
    if path is None or index is None or not path.is_file():
        return None
    block, previous_blank = -1, True
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            blank = not line.strip()
            if not blank and previous_blank:
                block += 1
                if block == index:
                    return number + token
            previous_blank = blank
    return None


def _within(tokens: Sequence[str], sentence: Sentence, limits: InputLimits) -> bool:
    text = replace(sentence, tokens=tuple(tokens), tags=None).text
    return len(text) <= limits.max_sentence_chars and model_tokens_bound(text) <= limits.max_sentence_tokens


def apply_limits(sentences: Sequence[Sentence], limits: InputLimits, *,
                 path: Path | None = None) -> tuple[list[Sentence], Counter]:
    """Sentences within ``limits``; in ``truncate`` mode also the count of what was cut, by reason.

    Error mode raises :class:`DataError` naming the file and line (or the sentence id for hub data) and the option
    to change. Truncate mode cuts a long token to ``max_token_chars`` (``token_truncated``) and drops the trailing
    tokens (and their tags) of a long sentence (``sentence_truncated``).
    """
    out: list[Sentence] = []
    cut: Counter = Counter()
    where = str(path) if path else None
    for sentence in sentences:
        tokens = list(sentence.tokens)
        for k, token in enumerate(tokens):
            if len(token) > limits.max_token_chars:
                if limits.overlong != "truncate":
                    raise DataError(
                        f"token of {len(token)} characters is longer than the limit of {limits.max_token_chars} "
                        "(data.max_token_chars); raise it, or set data.overlong='truncate' to cut and count",
                        where or sentence.id, _line_of(path, sentence, k))
                tokens[k] = token[: limits.max_token_chars]
                cut["token_truncated"] += 1
        keep = len(tokens)
        while keep > 1 and not _within(tokens[:keep], sentence, limits):
            keep -= 1
        if not _within(tokens[:keep], sentence, limits) or keep < len(tokens):
            if limits.overlong != "truncate" or not _within(tokens[:keep], sentence, limits):
                text = sentence.text
                raise DataError(
                    f"sentence of {len(text)} characters (at most {model_tokens_bound(text)} model tokens) is "
                    f"longer than the limits of {limits.max_sentence_chars} characters (data.max_sentence_chars) "
                    f"and {limits.max_sentence_tokens} model tokens (data.max_sentence_tokens); raise them, or set "
                    "data.overlong='truncate' to cut and count", where or sentence.id, _line_of(path, sentence, 0))
            cut["sentence_truncated"] += 1
        if tokens != list(sentence.tokens) or keep < len(tokens):
            tags = sentence.tags[:keep] if sentence.tags is not None else None
            sentence = replace(sentence, tokens=tuple(tokens[:keep]), tags=tags)
        out.append(sentence)
    return out, cut
