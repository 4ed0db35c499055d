"""EACL pairs: judged, stored (dropped rows stay queryable), split 90/10 by seed and exported as ShareGPT.

The exported conversation is the backward-translation request itself (system persona + "English phrase / <language>
sentence / which phrase translates it?") answered with the target title u, so fine-tuning teaches exactly the
answer inference asks for (EAT §3.3).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from eat_core.data.eacl_files import EaclPair
from eat_core.eacl.filter import judge
from eat_core.eacl.sentences import first_sentence
from eat_core.languages import language_name, writes_without_spaces
from eat_core.prompts import PromptSet
from eat_core.store import Store

PAPER_TABLE2 = {"ar": 2746, "hi": 1195, "hy": 1568, "ja": 2890, "ka": 1451, "ko": 2014, "ru": 796, "zh": 2382}
"""Pairs per language after filtering, EAT Table 2."""


@dataclass(frozen=True)
class JudgedPair:
    source: str
    lang: str
    eng_entity: str
    tgt_entity: str
    text: str
    first_sentence: str
    kept: bool
    reason: str | None
    exact: bool


def judge_pairs(pairs: Iterable[EaclPair], source: str) -> list[JudgedPair]:
    out = []
    for p in pairs:
        v1 = first_sentence(p.text, p.lang)
        verdict = judge(p.tgt_entity, v1)
        out.append(JudgedPair(source, p.lang, p.eng_entity, p.tgt_entity, p.text, v1, verdict.kept, verdict.reason,
                              verdict.exact))
    return out


def store_pairs(store: Store, judged: Sequence[JudgedPair]) -> None:
    """Replace the stored pairs of each (source, language) rebuilt: a pair gone from the input must not linger."""
    store.replace_eacl_pairs([(j.source, j.lang, j.eng_entity, j.tgt_entity, j.text, j.first_sentence, j.kept,
                               j.reason) for j in judged])


def split(pairs: Sequence[JudgedPair], valid_ratio: float = 0.1, seed: int = 42
          ) -> tuple[list[JudgedPair], list[JudgedPair]]:
    """Deterministic 90/10 split (EAT §4.2): same pairs and seed, same split, whatever the input order."""
    ordered = sorted(pairs, key=lambda j: (j.lang, j.eng_entity, j.tgt_entity))
    random.Random(seed).shuffle(ordered)
    n_valid = round(len(ordered) * valid_ratio)
    return ordered[n_valid:], ordered[:n_valid]


def conversation(pair: JudgedPair, prompts: PromptSet) -> dict:
    language = language_name(pair.lang)
    return {
        "system": prompts.system("backward", language=language),
        "conversations": [
            {"from": "human", "value": prompts.render("backward_single", language=language, phrase=pair.eng_entity,
                                                       sentence=pair.first_sentence)},
            {"from": "gpt", "value": pair.tgt_entity},
        ],
    }


def export_sharegpt(pairs: Sequence[JudgedPair], out_dir: str | Path, *, name: str = "eacl",
                    valid_ratio: float = 0.1, seed: int = 42, prompts: PromptSet | None = None) -> dict[str, Path]:
    """Write ``<name>_train.json``, ``<name>_valid.json`` and a LLaMA-Factory ``dataset_info.json``."""
    prompts = prompts or PromptSet.load()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kept = [p for p in pairs if p.kept]
    train, valid = split(kept, valid_ratio, seed)
    files = {}
    info = {}
    for part, rows in (("train", train), ("valid", valid)):
        path = out / f"{name}_{part}.json"
        path.write_text(json.dumps([conversation(p, prompts) for p in rows], ensure_ascii=False, indent=1),
                        encoding="utf-8")
        files[part] = path
        info[f"{name}_{part}"] = {
            "file_name": path.name, "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system"},
            "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"},
        }
    info_path = out / "dataset_info.json"
    existing = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    existing.update(info)
    info_path.write_text(json.dumps(existing, indent=2, ensure_ascii=False), encoding="utf-8")
    files["dataset_info"] = info_path
    return files


def stats_table(judged: Sequence[JudgedPair]) -> str:
    """Per language: kept, dropped, plain-containment count, EAT Table 2, tokens in v1; then drops by reason."""
    by_lang: dict[str, list[JudgedPair]] = {}
    for j in judged:
        by_lang.setdefault(j.lang, []).append(j)
    lines = []
    for lang in sorted(by_lang):
        rows = by_lang[lang]
        kept = [r for r in rows if r.kept]
        tokens = sum(_token_count(r.first_sentence, lang) for r in kept)
        paper = PAPER_TABLE2.get(lang)
        lines.append(f"{lang} kept={len(kept)} dropped={len(rows) - len(kept)} exact_match={sum(r.exact for r in rows)}"
                     f" paper_table2={paper if paper is not None else '-'} tokens={tokens}")
    reasons = Counter((j.lang, j.reason) for j in judged if not j.kept)
    lines.append("")
    lines.append("drops by reason:")
    for (lang, reason), n in sorted(reasons.items()):
        lines.append(f"  {lang} {reason}={n}")
    return "\n".join(lines)


def recovered_samples(judged: Sequence[JudgedPair], per_lang: int = 3) -> list[JudgedPair]:
    """Kept pairs that the paper's plain containment test would have dropped."""
    out, seen = [], Counter()
    for j in judged:
        if j.kept and not j.exact and seen[j.lang] < per_lang:
            out.append(j)
            seen[j.lang] += 1
    return out


def _token_count(text: str, lang: str) -> int:
    return len([c for c in text if not c.isspace()]) if writes_without_spaces(lang) else len(text.split())
