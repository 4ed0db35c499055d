"""The ``align`` silver route: translate-train label projection by word alignment (Politov et al., NoDaLiDa 2025).

For each labelled English sentence (WikiANN-en) with at least one entity:

1. **translate** it into the target language without markers: one request per sentence (the ``crop_system``
   persona with the ``roundtrip_single`` prompt, "Translate this English sentence into {language}"), through the
   configured LLM behind the DuckDB call cache (``CachedLLM``): a re-run asks nothing again;
2. **back-translate** the translation into English: one more cached request (``forward_system`` with
   ``forward_single``, the prompts every method uses to translate into English);
3. **tokenise** both as WikiANN does (``eat_core.distill.projection.tokenise``: characters for zh/ja);
4. **align** English-translation and back-translation-translation pairs with the chosen word aligner
   (``eat_core.projection.aligners``), every alignment stored in DuckDB under a content key (aligner identity and
   both token lists): a re-run reuses them. A statistical aligner (eflomal) learns from the batch, so the pairs of
   every shard still to do are aligned together (those among them already stored only as context);
5. **refine** the forward alignment through the back-translation (``eat_core.projection.refine``);
6. **match** the English entities to n-gram candidates of the translation and **tag** it (``project.py``).

Every lost entity has a reason in the sentence's details (``align_no_link``, ``align_unmatched``), and every dropped
sentence has one (``no_entity``, ``empty_translation``, ``translation_truncated``, then the filters'
``entity_not_found``, ``too_long``, ...). Shards are written one by one with what they cost in LLM calls and tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eat_core.bio import spans_from_tags
from eat_core.distill.projection import clean_answer, tokenise
from eat_core.hashing import content_hash
from eat_core.languages import language_name
from eat_core.projection.aligners import WordAligner, build_aligner
from eat_core.projection.links import Links, parse_pharaoh, to_pharaoh
from eat_core.projection.matching import MATCHERS
from eat_core.projection.project import project_entities
from eat_core.projection.refine import refine, through_backtranslation
from eat_core.types import Sentence

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Translated:
    """One English sentence, its translation and back-translation as tokens, and why it cannot be used."""

    sentence: Sentence
    target: tuple[str, ...] = ()
    back: tuple[str, ...] = ()
    failure: str | None = None


@dataclass(frozen=True)
class Labelled:
    """The translation's tokens and tags, one reason per lost entity (or the sentence's one reason), entities."""

    target: tuple[str, ...]
    tags: tuple[str, ...]
    failures: tuple[str, ...]
    expected: int


def llm_cost(translator) -> dict:
    """A snapshot of the translator's LLM counters: calls (cached or not) and their prompt and completion tokens."""
    counters = translator.llm.counters
    return {"llm_calls": counters.hits + counters.misses, "prompt_tokens": counters.prompt_tokens,
            "completion_tokens": counters.completion_tokens}


def cost_since(translator, before: dict) -> dict:
    now = llm_cost(translator)
    return {k: now[k] - before[k] for k in now}


def translate_shard(translator, sentences: Sequence[Sentence], lang: str) -> list[Translated]:
    """Steps 1-3 for a shard: one forward request per sentence with an entity, one back-translation request per
    non-empty translation (both batched per shard)."""
    todo = [i for i, s in enumerate(sentences) if spans_from_tags(s.tags or ())]
    name = language_name(lang)
    forward, _ = translator.ask("crop_system", "roundtrip_single",
                                [{"language": name, "english": " ".join(sentences[i].tokens)} for i in todo])
    texts = {i: clean_answer(a.text, lang) for i, a in zip(todo, forward, strict=True)}
    truncated = {i for i, a in zip(todo, forward, strict=True) if a.truncated}
    ask_back = [i for i in todo if texts[i]]
    backward, _ = translator.ask("forward_system", "forward_single",
                                 [{"language": name, "sentence": texts[i]} for i in ask_back])
    backs = {i: clean_answer(a.text, "en") for i, a in zip(ask_back, backward, strict=True)}
    out = []
    for i, sentence in enumerate(sentences):
        if i not in texts:
            out.append(Translated(sentence, failure="no_entity"))
            continue
        target = tuple(texts[i][a:b] for a, b in tokenise(texts[i], lang))
        back = tuple(backs.get(i, "")[a:b] for a, b in tokenise(backs.get(i, ""), "en"))
        failure = "empty_translation" if not target else "translation_truncated" if i in truncated else None
        out.append(Translated(sentence, target, back, failure))
    return out


def alignment_key(identity: dict, source: Sequence[str], target: Sequence[str]) -> str:
    """The content key of one alignment: the aligner's identity and both token lists, nothing else."""
    return content_hash({"aligner": identity, "source": list(source), "target": list(target)})


def align_cached(store, aligner: WordAligner, pairs: Sequence[tuple[tuple[str, ...], tuple[str, ...]]],
                 context: Sequence[tuple[tuple[str, ...], tuple[str, ...]]] = ()) -> list[Links]:
    """Alignments of ``pairs``: stored ones reused, the others computed in one batch and stored at once (a
    corpus-dependent aligner also sees ``context``, pairs it learns from whose alignments are not stored)."""
    identity = aligner.identity()
    keys = [alignment_key(identity, s, t) for s, t in pairs]
    found = store.get_alignments(keys)
    missing = list(dict.fromkeys(k for k in keys if k not in found))
    if missing:
        first = {}
        for k, pair in zip(keys, pairs, strict=True):
            first.setdefault(k, pair)
        batch = [first[k] for k in missing]
        extra = []
        if aligner.corpus_dependent:  # the stored pairs of this batch, and the context, to learn from
            extra = [first[k] for k in dict.fromkeys(keys) if k in found] + list(context)
            extra = [p for p in extra if p[0] and p[1]]
        links = aligner.align(batch + extra)[: len(batch)]
        rows = [(k, aligner.name, to_pharaoh(lk)) for k, lk in zip(missing, links, strict=True)]
        store.put_alignments(rows)
        found.update({k: text for k, _, text in rows})
    return [parse_pharaoh(found[k]) for k in keys]


def label(translated: Sequence[Translated], forward: Sequence[Links], backward: Sequence[Links], matching: str,
          mode: str) -> list[Labelled]:
    """Steps 5-6: refined links, matched entities, tags; ``forward[k]``/``backward[k]`` belong to ``translated[k]``
    (empty for a sentence that failed before alignment)."""
    matcher = MATCHERS.get(matching, "--matching")
    out = []
    for item, f, b in zip(translated, forward, backward, strict=True):
        entities = spans_from_tags(item.sentence.tags or ())
        if item.failure:
            out.append(Labelled(item.target, ("O",) * len(item.target), (item.failure,), len(entities)))
            continue
        links = refine(f, through_backtranslation(item.sentence.tokens, item.back, b), mode)
        projected = project_entities(entities, len(item.target), links, matcher)
        out.append(Labelled(item.target, projected.tags, projected.failures, len(entities)))
    return out


def aligner_for(settings: dict) -> WordAligner:
    return build_aligner(settings["aligner"], settings.get("aligner_model"))
