"""How far the true-position token F1 (protocol ``token``) is from the official EAT scorer (``eat-official``).

Gold entities of real WikiANN sentences are perturbed into a prediction: each entity is dropped (20%), retyped (10%),
moved by one token (10%) or kept; one sentence in ten gains a spurious one- or two-token entity. Both protocols score
the same prediction; the difference is what a reader comparing eat-ner's ``token`` numbers with the paper's tables
would misread as a gain or a loss.

    python benchmarks/scorer_bias.py --data ../shared/data/wikiann --split dev --limit 2000

One line per language: sentences, ``eat-official`` F1, ``token`` F1, their difference, strict entity F1.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eat_core.bio import spans_from_tags, tags_from_spans  # noqa: E402
from eat_core.data.wikiann import load_wikiann_local  # noqa: E402
from eat_core.scoring.counts import micro
from eat_core.scoring.entity_f1 import entity_counts  # noqa: E402
from eat_core.scoring.token_f1 import token_counts
from eat_core.types import ENTITY_TYPES, Span  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_languages import chosen_languages  # noqa: E402


def perturb(tags: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A plausible prediction: drop 20%, retype 10%, shift 10% of the gold entities; 10% of sentences gain one."""
    n = len(tags)
    spans: list[Span] = []
    for span in spans_from_tags(tags):
        r = rng.random()
        if r < 0.2:
            continue
        if r < 0.3:
            span = Span(span.start, span.end, rng.choice([t for t in ENTITY_TYPES if t != span.label]))
        elif r < 0.4:
            step = rng.choice((-1, 1))
            if span.start + step >= 0 and span.end + step <= n:
                span = Span(span.start + step, span.end + step, span.label)
        spans.append(span)
    if rng.random() < 0.1:
        start = rng.randrange(n)
        spans.append(Span(start, min(n, start + rng.choice((1, 2))), rng.choice(ENTITY_TYPES)))
    kept: list[Span] = []
    for span in spans:
        if not any(span.overlaps(other) for other in kept):
            kept.append(span)
    return tags_from_spans(kept, n)


def bias(data: Path, lang: str, split: str, limit: int, seed: int) -> dict:
    sentences, _ = load_wikiann_local(data, lang, split)
    sentences = sentences[:limit]
    rng = random.Random(f"{seed}-{lang}")
    tokens = [s.tokens for s in sentences]
    gold = [s.tags for s in sentences]
    pred = [perturb(t, rng) for t in gold]
    official = micro(token_counts(gold, pred, "eat-official", tokens=tokens, lang=lang)).f1
    true = micro(token_counts(gold, pred, "token")).f1
    return {"lang": lang, "sentences": len(sentences), "eat_official": official, "token": true,
            "difference": true - official, "entity": micro(entity_counts(gold, pred)).f1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/wikiann"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--languages", default="", help="comma-separated; default: every language under --data")
    parser.add_argument("--limit", type=int, default=2000, help="first N sentences per language")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    print(f"{args.split}, first {args.limit} sentences, seed {args.seed}; difference = token - eat-official")
    print(f"{'lang':<5} {'sentences':>9} {'eat-official':>12} {'token':>7} {'difference':>10} {'entity':>7}")
    for lang in chosen_languages(args):
        r = bias(args.data, lang, args.split, args.limit, args.seed)
        print(f"{lang:<5} {r['sentences']:>9} {r['eat_official']:>12.2f} {r['token']:>7.2f} "
              f"{r['difference']:>+10.2f} {r['entity']:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
