"""Alignment ceiling on real WikiANN data: perfect backward answers, our aligner, scored against gold.

Each sentence's gold entity strings are fed to ``eat_core.engine.align.place_entities`` as if the LLM had answered them
perfectly, in a shuffled order (a real run does not know the target-side order) and with nothing else a real run
would not have (no positions). What is lost here is lost by the aligner alone.

    python benchmarks/alignment_ceiling.py --data ../shared/data/wikiann --split dev

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

LANGUAGES = ("ar", "de", "en", "es", "fr", "hi", "hy", "ja", "ka", "ko", "nl", "ru", "zh")


def occurrences(tokens, span) -> int:
    length = span.end - span.start
    target = tokens[span.start : span.end]
    return sum(1 for i in range(len(tokens) - length + 1) if tokens[i : i + length] == target)


def run_language(data: Path, lang: str, split: str, seed: int, protocol: str) -> dict:
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
            answers.append((EnglishEntity(text=f"entity-{k}", label=span.label), surface))
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
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--protocol", default="eat-official", help="token-F1 protocol (see eat_core.scoring.counts)")
    args = parser.parse_args()
    rows = []
    t0 = time.perf_counter()
    for lang in args.languages.split(","):
        row = run_language(args.data, lang, args.split, args.seed, args.protocol)
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
    worst = min(rows, key=lambda r: r["token_f1"])
    print(f"\nmin token_f1={worst['token_f1']:.2f} ({worst['lang']}); "
          f"mean token_f1={sum(r['token_f1'] for r in rows) / len(rows):.2f}; {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
