"""``fusion``: TransFusion-style prompting (Chen, Shah and Ritter, ACL 2025).

After forward translation and English NER (EAT's own steps), one request per sentence shows the LLM the original
sentence *and* its English translation with the English entities marked (``[PER Barack Obama] visited [LOC
Paris]``) and asks for the target-language entities with their types; the answers go through the EAT aligner. One
call per sentence where EAT's backward rounds cost ``rounds`` calls per entity: whether the per-entity rounds pay
for themselves is what ``eat compare`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from eat_core.engine.translate import DualTranslator
from eat_core.languages import language_name
from eat_core.methods.direct import tag_from_answers
from eat_core.methods.eat import translator_for
from eat_core.types import EnglishEntity, Prediction, Sentence


class FusionMethod:
    needs_llm = True
    needs_extractor = True

    def __init__(self, engine: DualTranslator) -> None:
        self.engine = engine

    @classmethod
    def from_config(cls, cfg, llm, extractor) -> FusionMethod:
        return cls(translator_for(cfg, llm, extractor))

    def run(self, sentences: Sequence[Sentence]) -> list[Prediction]:
        if not sentences:
            return []
        shard = self.engine.translate_and_tag(sentences)
        fields = [{"language": language_name(s.lang), "sentence": shard.texts[i],
                   "annotated": annotate(shard.english[i], shard.entities[i])} for i, s in enumerate(sentences)]
        return tag_from_answers(self.engine, sentences, shard, fields, "direct_system", "fusion_tag", "fusion")


def annotate(english: str, entities: Sequence[EnglishEntity]) -> str:
    """``Obama visited Paris`` + entities -> ``[PER Obama] visited [LOC Paris]`` (unlocated entities appended)."""
    out, last, missing = [], 0, []
    for e in sorted(entities, key=lambda e: e.char_start):
        start = e.char_start if e.char_start >= 0 else english.find(e.text, last)
        if start < last or start < 0:
            missing.append(e)
            continue
        end = start + len(e.text) if e.char_start < 0 else e.char_end
        out += [english[last:start], f"[{e.label} {english[start:end]}]"]
        last = end
    out.append(english[last:])
    text = "".join(out)
    return text + "".join(f" [{e.label} {e.text}]" for e in missing)
