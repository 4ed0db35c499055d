"""Alignment ceiling on real WikiANN data: perfect backward answers, our aligner, scored against gold.

Each sentence's gold entity strings are fed to ``eat_core.engine.align.place_entities`` as if the LLM had answered them
perfectly, in a shuffled order (a real run does not know the target-side order) and with nothing else a real run
would not have (no positions). What is lost here is lost by the aligner alone.

    python benchmarks/alignment_ceiling.py --data ../shared/data/wikiann --split dev --protocol token [--damage]

Every language directory under ``--data`` with the split is run unless ``--languages`` names some. ``--damage``
wraps each answer the way real backward-translation answers come (each with probability 0.5): quotes, a trailing
full stop, a ``Final answer:`` label, bold, a parenthetical or a dash explanation after it, an explanation line
before it.

One line per language: ``<lang> token_f1=<float> entity_f1=<float> unplaced=<int>``, followed by the rate of entities
whose string occurs more than once in their sentence and how many of those the rule placed on the gold occurrence.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eat_core.bio import spans_from_tags  # noqa: E402
from eat_core.data.wikiann import load_wikiann_local  # noqa: E402
from eat_core.engine.align import place_entities, tags_from_placements  # noqa: E402
from eat_core.languages import join_tokens  # noqa: E402
from eat_core.scoring.counts import micro
from eat_core.scoring.entity_f1 import entity_counts  # noqa: E402
from eat_core.scoring.token_f1 import token_counts
from eat_core.types import EnglishEntity  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_languages import chosen_languages, worst  # noqa: E402

DAMAGES = (
    lambda s: f'"{s}"',
    lambda s: s if s[-1:] in ".!?" else f"{s}.",
    lambda s: f"Final answer: {s}",
    lambda s: f"**{s}**",
    lambda s: f"{s} (the name as it appears in the sentence)",
    lambda s: f"{s} - this is the exact phrase from the sentence",
    lambda s: f"The phrase in the original sentence is:\n\n{s}",
    lambda s: f"«{s}»",
)
"""How real backward answers wrap the phrase (EAT's backward rounds: labels, quotes, explanations)."""


def damaged(surface: str, rng: random.Random) -> str:
    return rng.choice(DAMAGES)(surface) if rng.random() < 0.5 else surface


def occurrences(tokens, span) -> int:
    length = span.end - span.start
    target = tokens[span.start : span.end]
    return sum(1 for i in range(len(tokens) - length + 1) if tokens[i : i + length] == target)


def run_language(data: Path, lang: str, split: str, seed: int, protocol: str, damage: bool = False) -> dict:
    sentences, report = load_wikiann_local(data, lang, split, repair=True)
    rng = random.Random(seed)
    gold, pred = [], []
    unplaced = repeated = repeated_ok = entities = 0
    for sentence in sentences:
        spans = spans_from_tags(sentence.tags)
        order = list(range(len(spans)))
        rng.shuffle(order)
        answers = []
        for k in order:
            span = spans[k]
            surface = join_tokens(sentence.tokens[span.start : span.end], lang)
            answer = damaged(surface, rng) if damage else surface
            answers.append((EnglishEntity(text=f"entity-{k}", label=span.label), answer))
        placements = place_entities(sentence.tokens, lang, answers)
        tags = tags_from_placements(placements, len(sentence.tokens))
        gold.append(sentence.tags)
        pred.append(tags)
        entities += len(spans)
        unplaced += sum(p.span is None for p in placements)
        placed = {p.span for p in placements if p.span is not None}
        for span in spans:
            if occurrences(sentence.tokens, span) > 1:
                repeated += 1
                repeated_ok += span in placed
    return {
        "lang": lang,
        "token_f1": micro(token_counts(gold, pred, protocol, tokens=[s.tokens for s in sentences], lang=lang)).f1,
        "entity_f1": micro(entity_counts(gold, pred)).f1,
        "unplaced": unplaced,
        "entities": entities,
        "repeated": repeated,
        "repeated_ok": repeated_ok,
        "repaired_tags": report.repaired_orphan_inside,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/wikiann"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--languages", default="", help="comma-separated; default: every language under --data")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--protocol", default="eat-official", help="token-F1 protocol (see eat_core.scoring.counts)")
    parser.add_argument("--damage", action="store_true", help="wrap answers as real LLM answers come")
    args = parser.parse_args()
    rows = []
    t0 = time.perf_counter()
    for lang in chosen_languages(args):
        row = run_language(args.data, lang, args.split, args.seed, args.protocol, args.damage)
        rows.append(row)
        print(f"{lang} token_f1={row['token_f1']:.2f} entity_f1={row['entity_f1']:.2f} unplaced={row['unplaced']}",
              flush=True)
    print()
    print("lang  entities  repeated-string  rate   placed-on-gold  recovered  orphan-I-repaired")
    for row in rows:
        rate = 100 * row["repeated"] / max(1, row["entities"])
        rec = 100 * row["repeated_ok"] / max(1, row["repeated"])
        print(f"{row['lang']:<5} {row['entities']:>8}  {row['repeated']:>15}  {rate:4.1f}%  {row['repeated_ok']:>14}  "
              f"{rec:8.1f}%  {row['repaired_tags']:>17}")
    print(f"\n# split={args.split} protocol={args.protocol} damage={args.damage} seed={args.seed}; "
          f"mean token_f1={sum(r['token_f1'] for r in rows) / len(rows):.2f}; {time.perf_counter() - t0:.1f}s")
    print(worst([(r["lang"], r["token_f1"]) for r in rows]))


if __name__ == "__main__":
    main()
