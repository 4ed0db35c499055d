"""How word-alignment projection degrades with alignment noise, on real WikiANN sentences (issue 20, item 4).

No translation model is needed to measure the projection and matching stages: each dev sentence gets a
"translation" with a known alignment (``eat_core/projection/synthetic.py``: the sentence itself with reordered
halves, inserted and deleted function words, split and merged tokens). A share of the gold links (0, 10, 20, 30 %)
is then damaged (half deleted, half moved to a wrong target token) and the English entities are projected through
the damaged links (``eat_core/projection/project.py``). Back-translation refinement is simulated the same way: the
back-translation is the source sentence itself, and its alignment to the translation is an independent damage of
the gold links at the same rate, combined with the forward links by each refinement mode.

Scored against the construction's gold tags with token F1 under protocol ``token`` (true positions).

    python benchmarks/projection_noise.py --data ../shared/data/wikiann --split dev            # every language
    python benchmarks/projection_noise.py --languages de,zh,yo --limit 0                        # all sentences

One line per language: ``<lang> n=<sentences> <matching>/<refinement> 0%=<F1> 10%=... 20%=... 30%=...`` for each
combination; then the curves of the worst and the median language (by the mean over noise levels of
``optimal/none``) and a last line ``min_token_f1_noise0=X`` (over every language and combination).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eat_core.bio import spans_from_tags  # noqa: E402
from eat_core.data.wikiann import find_split_file, read_wikiann_file  # noqa: E402
from eat_core.projection.matching import MATCHERS  # noqa: E402
from eat_core.projection.project import project_entities  # noqa: E402
from eat_core.projection.refine import refine  # noqa: E402
from eat_core.projection.synthetic import corrupt, synthetic_pair  # noqa: E402
from eat_core.scoring.counts import micro  # noqa: E402
from eat_core.scoring.token_f1 import token_counts  # noqa: E402

NOISE = (0.0, 0.1, 0.2, 0.3)


def run_language(data: Path, lang: str, split: str, limit: int, seed: int, matchings, refinements) -> dict:
    sentences, _ = read_wikiann_file(find_split_file(data, lang, split), lang)
    if limit:
        sentences = sentences[:limit]
    rng = random.Random(f"{seed}-{lang}")
    pairs = [synthetic_pair(s.tokens, s.tags, rng) for s in sentences]
    gold = [p.target_tags for p in pairs]
    entities = [spans_from_tags(p.source_tags) for p in pairs]
    scores: dict[tuple[str, str], list[float]] = {(m, r): [] for m in matchings for r in refinements}
    for noise in NOISE:
        forward = [corrupt(p.links, len(p.source), len(p.target), noise, rng) for p in pairs]
        through_back = [corrupt(p.links, len(p.source), len(p.target), noise, rng) for p in pairs]
        for r in refinements:
            links = [refine(f, b, r) for f, b in zip(forward, through_back, strict=True)]
            for m in matchings:
                matcher = MATCHERS.get(m)
                pred = [project_entities(e, len(p.target), lk, matcher).tags
                        for e, p, lk in zip(entities, pairs, links, strict=True)]
                scores[(m, r)].append(micro(token_counts(gold, pred, "token")).f1)
    return {"lang": lang, "n": len(pairs), "scores": scores}


def curve(values) -> str:
    return " ".join(f"{int(n * 100)}%={v:.2f}" for n, v in zip(NOISE, values, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/wikiann"))
    parser.add_argument("--split", default="dev")
    parser.add_argument("--languages", default=None, help="comma-separated codes (default: every language "
                                                          "directory under --data)")
    parser.add_argument("--limit", type=int, default=1000, help="first N sentences per language (0: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--matchings", default="greedy,optimal")
    parser.add_argument("--refinements", default="none,grow,intersect,union")
    args = parser.parse_args()
    langs = args.languages.split(",") if args.languages else sorted(p.name for p in args.data.iterdir() if p.is_dir())
    matchings, refinements = args.matchings.split(","), args.refinements.split(",")
    rows = []
    start = time.perf_counter()
    for lang in langs:
        row = run_language(args.data, lang, args.split, args.limit, args.seed, matchings, refinements)
        rows.append(row)
        parts = [f"{m}/{r} {curve(v)}" for (m, r), v in row["scores"].items()]
        print(f"{lang} n={row['n']} " + " | ".join(parts), flush=True)
    key = ("optimal", "none") if ("optimal", "none") in rows[0]["scores"] else next(iter(rows[0]["scores"]))
    ranked = sorted(rows, key=lambda r: statistics.mean(r["scores"][key]))
    for label, row in (("worst", ranked[0]), ("median", ranked[len(ranked) // 2])):
        print(f"# {label} language by mean {key[0]}/{key[1]}: {row['lang']} (n={row['n']})")
        for (m, r), values in row["scores"].items():
            print(f"#   {m}/{r}: {curve(values)}")
    print(f"# {len(rows)} languages, {sum(r['n'] for r in rows)} sentences, {time.perf_counter() - start:.0f} s")
    low = min(v[0] for r in rows for v in r["scores"].values())
    print(f"min_token_f1_noise0={low:.2f}")


if __name__ == "__main__":
    main()
