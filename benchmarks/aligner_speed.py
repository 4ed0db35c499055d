"""Time per 1,000 sentence pairs of each word aligner of the align route, on this machine.

Pairs are real WikiANN dev sentences with a transformed copy as "translation" (``eat_core/projection/synthetic.py``),
so lengths are WikiANN's. Measured:

* ``eflomal`` over a corpus of N pairs (it learns from the batch, so its time per pair depends on N: measured at
  1,000 and at 5,000 pairs);
* ``embedding`` (SimAlign argmax) with the tiny local XLM-R (``tiny:xlmr``, 3 layers of width 64: the test model);
* ``embedding`` with an encoder of XLM-R base's shape (12 layers, width 768, 12 heads, 3072 feed-forward), built
  from a config with random weights (speed depends on the shape, not the weights; no hub here). Its tokenizer is
  our 1,024-piece BPE, which cuts words into more pieces than XLM-R's 250k SentencePiece: an upper bound.

    python benchmarks/aligner_speed.py --data ../shared/data/wikiann --lang de

Prints the machine (CPU count, load average: other jobs share the cores and slow everything down) and
``<aligner> pairs=<n> seconds=<s> per_1000=<s>`` per line; CPU threads as torch uses them by default.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eat_core.data.wikiann import find_split_file, read_wikiann_file  # noqa: E402
from eat_core.projection.aligners import build_aligner  # noqa: E402
from eat_core.projection.synthetic import synthetic_pair  # noqa: E402


def pairs_of(data: Path, lang: str, n: int) -> list:
    sentences, _ = read_wikiann_file(find_split_file(data, lang, "dev"), lang)
    rng = random.Random(3)
    out = []
    while len(out) < n:
        out += [synthetic_pair(s.tokens, s.tags, rng) for s in sentences[: n - len(out)]]
    return [(p.source, p.target) for p in out]


def timed(name: str, aligner, pairs: list, warm: list | None = None) -> None:
    if warm:
        aligner.align(warm)  # loads the model: not part of the time per pair
    start = time.perf_counter()
    aligner.align(pairs)
    seconds = time.perf_counter() - start
    print(f"{name} pairs={len(pairs)} seconds={seconds:.1f} per_1000={1000 * seconds / len(pairs):.1f}", flush=True)


def base_sized_encoder(root: Path) -> Path:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from eat_core.weights.tiny import train_tokenizer

    tokenizer = train_tokenizer()
    torch.manual_seed(0)
    config = XLMRobertaConfig(vocab_size=len(tokenizer), hidden_size=768, intermediate_size=3072,
                              num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=514,
                              pad_token_id=tokenizer.pad_token_id)
    XLMRobertaModel(config).save_pretrained(root)
    tokenizer.save_pretrained(root)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/wikiann"))
    parser.add_argument("--lang", default="de")
    parser.add_argument("--base-pairs", type=int, default=300, help="pairs for the XLM-R-base-sized encoder")
    args = parser.parse_args()
    print(f"# cpus={os.cpu_count()} load_average_1min={os.getloadavg()[0]:.1f}", flush=True)
    for n in (1000, 5000):
        timed("eflomal", build_aligner("eflomal"), pairs_of(args.data, args.lang, n))
    pairs = pairs_of(args.data, args.lang, 1000)
    timed("embedding tiny:xlmr", build_aligner("embedding", "tiny:xlmr"), pairs, warm=pairs[:2])
    with tempfile.TemporaryDirectory(prefix="eat-xlmr-base-shape-") as tmp:
        aligner = build_aligner("embedding", str(base_sized_encoder(Path(tmp))))
        timed("embedding xlmr-base-shape", aligner, pairs[: args.base_pairs], warm=pairs[:2])
    print(f"# load_average_1min={os.getloadavg()[0]:.1f} at the end", flush=True)


if __name__ == "__main__":
    main()
