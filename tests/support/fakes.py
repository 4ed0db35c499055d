"""Scripted LLMs: answers keyed by the prompt TEMPLATE a request was rendered from, not by regexes over its text.

:class:`TemplateReader` turns each template of a :class:`PromptSet` into a pattern (its literal text, each
placeholder a group), so a rendered message names its template and gives back the placeholder values
(``sentence``, ``phrase``, ``english`` ...). A template edited in ``eat_core/prompts`` or a run's own prompts
directory is read the same way: no test repeats prompt wording.

Answers: ``{template name or fnmatch pattern: str | callable(Turn) -> str}``; ``field("phrase")`` answers with a
placeholder's value. A request no template rendered (a hand-written chat) has ``template is None`` and gets
``default``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from eat_core.llm.base import Completion, Decoding, LLMBackend
from eat_core.prompts import PromptSet


@dataclass(frozen=True)
class Turn:
    """One request as the fake sees it. ``template``: the last user message's template (None: no template's);
    ``system``: the system message's; ``fields``: placeholder values from every message, the first one wins;
    ``number``: 1 for the first request this fake answers, 2 for the next ..."""

    template: str | None
    system: str | None
    fields: dict[str, str]
    chat: list[dict]
    number: int

    def __getitem__(self, name: str) -> str:
        return self.fields[name]


Answer = str | Callable[[Turn], str]


def field(name: str) -> Callable[[Turn], str]:
    """An answer that copies placeholder ``name`` of the request (e.g. the ``phrase`` of a backward round)."""
    return lambda turn: turn.fields.get(name, "")


class TemplateReader:
    """Names the template a message was rendered from and recovers its placeholder values."""

    def __init__(self, prompts: PromptSet | None = None) -> None:
        self.prompts = prompts or PromptSet.load()
        compiled = [(name, _pattern(text), len(text)) for name, text in self.prompts.templates.items()]
        # the most literal text first: a short template can never shadow a longer one that also matches
        self._patterns = [(name, pattern) for name, pattern, _ in sorted(compiled, key=lambda c: -c[2])]

    def read(self, text: str) -> tuple[str | None, dict[str, str]]:
        for name, pattern in self._patterns:
            match = pattern.match(text)
            if match:
                return name, {k: v for k, v in match.groupdict().items() if v is not None}
        return None, {}

    def turn(self, chat: Sequence[dict], number: int = 1) -> Turn:
        fields: dict[str, str] = {}
        names: dict[str, str | None] = {}
        for message in chat:
            if message["role"] == "assistant":
                continue
            name, found = self.read(message["content"])
            names[message["role"]] = name  # the last user message's template wins: the current round
            fields = {**found, **fields}
        return Turn(names.get("user"), names.get("system"), fields, list(chat), number)


def _pattern(template: str) -> re.Pattern:
    parts, seen = [], set()
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name is None:
            continue
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.*?)")
        seen.add(name)
    return re.compile(r"\A" + "".join(parts) + r"\Z", re.S)


class Script:
    """The answers of one scripted LLM, and the requests it was asked (``turns``)."""

    def __init__(self, answers: Mapping[str, Answer] | None = None, *, default: Answer | None = None,
                 prompts: PromptSet | None = None) -> None:
        self.answers = dict(answers or {})
        self.default = default
        self.reader = TemplateReader(prompts)
        self.turns: list[Turn] = []

    @property
    def calls(self) -> int:
        """Requests answered so far (through a cache: the cache misses)."""
        return len(self.turns)

    def templates(self) -> list[str | None]:
        """The template of every request answered, in order."""
        return [t.template for t in self.turns]

    def answer(self, chat: Sequence[dict]) -> str:
        turn = self.reader.turn(chat, len(self.turns) + 1)
        self.turns.append(turn)
        reply = self._lookup(turn.template)
        return reply(turn) if callable(reply) else reply

    def _lookup(self, template: str | None) -> Answer:
        if template is not None:
            if template in self.answers:
                return self.answers[template]
            for key, reply in self.answers.items():
                if fnmatch.fnmatchcase(template, key):
                    return reply
        if self.default is None:
            raise AssertionError(f"the scripted LLM has no answer for template {template!r}; "
                                 f"scripted: {', '.join(self.answers) or 'none'}")
        return self.default


class ScriptedLLM(Script):
    """A bare ``generate(chats, decoding)`` (the engine's ``Generator``): no cache key, no backend bookkeeping."""

    def generate(self, chats: Sequence[list[dict]], decoding: Decoding) -> list[Completion]:
        return [Completion(self.answer(chat)) for chat in chats]

    def responder(self) -> Callable[[list[dict]], str]:
        """The same answers for a ``ChatServer(responder=...)``: one per request body's messages."""
        return self.answer


class ScriptedBackend(LLMBackend):
    """A real :class:`LLMBackend` (so ``CachedLLM`` keys and stores its answers) that answers from a script; its
    ``calls`` are this instance's. Register it with :func:`register_backend` to have a run build it by name."""

    def __init__(self, script: Script | None = None, *, name: str = "scripted", model: str = "scripted-model",
                 tokens: int = 0) -> None:
        super().__init__()
        self.script = script or Script()
        self.name = name
        self.model = model
        self.tokens = tokens  # prompt and completion tokens reported per answer

    @property
    def calls(self) -> int:
        return self.script.calls

    def identity(self) -> dict:
        return {"backend": self.name, "model": self.model}

    def _generate(self, chats, decoding):
        return [Completion(self.script.answer(chat), self.tokens, self.tokens) for chat in chats]


_REGISTERED: dict[str, LLMBackend] = {}


class _Registered:
    """What ``BACKENDS`` names: hands the engine the instance the test registered under that backend name."""

    @classmethod
    def from_config(cls, config) -> LLMBackend:
        return _REGISTERED[config.backend]


def register_backend(monkeypatch, backend: LLMBackend, name: str | None = None) -> LLMBackend:
    """Make ``llm.backend = name`` build ``backend`` (this test only); returns it, for its ``calls``."""
    from eat_core.llm import BACKENDS

    name = name or backend.name
    monkeypatch.setitem(BACKENDS._targets, name, f"{__name__}:_Registered")  # undone after the test
    monkeypatch.setitem(_REGISTERED, name, backend)
    return backend


def echo_script() -> Script:
    """Translates by copying (German is its own English): the sentence forward and in the round trip, the phrase
    backward, the marked English in labelled-sequence translation."""
    return Script({"backward_*": field("phrase"), "forward_*": field("sentence"), "roundtrip_single": field("english"),
                   "crop_translate": field("english"), "direct_tag": field("sentence"),
                   "fusion_tag": field("sentence")}, default="")


NAMES = ("Alder", "Brook", "Cedar", "Dorn", "Elm", "Fenwick", "Garrow", "Hollis", "Ivers", "Juniper")
CUES = ("City", "University", "River", "Council", "", "")


def _digest(turn: Turn) -> int:
    return int(hashlib.sha256(json.dumps(turn.chat, ensure_ascii=False).encode()).hexdigest(), 16)


def _hashed_piece(turn: Turn) -> str:
    """Backward rounds: a piece of the original sentence (one or two words, or two characters), picked by hash."""
    h, sentence = _digest(turn), turn.fields.get("sentence", "")
    words = sentence.split()
    if len(words) > 1:
        k = h % len(words)
        return " ".join(words[k : k + 1 + (h >> 8) % 2])
    start = h % max(1, len(sentence) - 2)
    return sentence[start : start + 2]


def _hashed_english(turn: Turn) -> str:
    """Forward rounds: an English sentence with two to four made-up names, picked by hash."""
    h = _digest(turn)
    a, b, c = NAMES[h % 10], NAMES[(h >> 4) % 10], CUES[(h >> 8) % len(CUES)]
    return f"The {a} {c} met {b} in {NAMES[(h >> 12) % 10]} last year.".replace("  ", " ")


def hashed_script() -> Script:
    """Deterministic answers for every EAT prompt, each a function of the whole request: a greedy answer is the same
    whichever server gives it, and a request answered out of place changes the predictions. Keeps no record of
    the requests (it serves whole benchmarks)."""
    return _Unrecorded({"backward_*": _hashed_piece, "forward_*": _hashed_english,
                        "roundtrip_single": lambda t: t.fields.get("english") or "roundtrip"}, default=_hashed_english)


class _Unrecorded(Script):
    def answer(self, chat: Sequence[dict]) -> str:
        turn = self.reader.turn(chat)
        reply = self._lookup(turn.template)
        return reply(turn) if callable(reply) else reply
