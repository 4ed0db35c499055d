"""English entity F1 and sentences per second: the spaCy extractor (real ``en_core_web_sm``) beside the tiny T5.

Both extractors tag the same WikiANN-en sentences (tokens joined by spaces, as every extractor sees English in this
project) and are scored by ``score_extractor`` (seqeval strict entity F1 over PER/ORG/LOC; WikiANN has no other
types, so spaCy's other labels are dropped by the label map). The tiny T5 is the randomly initialised ``tiny:t5`` the
tests build locally: it shows what the machinery does without a trained model, not what T5 can do. Each model is
loaded and warmed up on a few sentences before timing; the timed pass is one ``extract`` call over all sentences.

    python benchmarks/spacy_extractor.py [--data DIR] [--split dev] [--limit N] [--t5-limit N] [--threads 2]

Prints one line per extractor: ``name sentences entity_f1 precision recall sentences/s`` (F1, P, R in %).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.paths import WIKIANN  # noqa: E402

from eat_core.config.run import ExtractorConfig  # noqa: E402
from eat_core.data.wikiann import read_wikiann_file  # noqa: E402


def measure(name: str, extractor, sentences) -> None:
    from eat_core.training.extractor import score_extractor, sentence_text

    extractor.extract([sentence_text(s) for s in sentences[:8]])  # warm-up: first-call overheads out of the timing
    t0 = time.perf_counter()
    scores = score_extractor(extractor.extract, sentences)
    seconds = time.perf_counter() - t0
    print(f"{name:28s} sentences={len(sentences):6d} entity_f1={scores['entity_f1']:.2f} "
          f"precision={scores['entity_precision']:.2f} recall={scores['entity_recall']:.2f} "
          f"sentences/s={len(sentences) / seconds:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(WIKIANN), help="WikiANN-format directory with en/<split>.tsv")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--limit", type=int, default=None, help="first N sentences for spaCy (default: all)")
    parser.add_argument("--t5-limit", type=int, default=1000, help="first N sentences for the tiny T5")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from eat_core.extractors import load_extractor

    sentences, _ = read_wikiann_file(Path(args.data) / "en" / f"{args.split}.tsv", "en")
    spacy_extractor = load_extractor(ExtractorConfig(name="spacy", model="en_core_web_sm", batch_size=256))
    meta = spacy_extractor.meta
    measure(f"spacy {meta['lang']}_{meta['name']}@{meta['version']}", spacy_extractor, sentences[:args.limit])
    t5 = load_extractor(ExtractorConfig(name="t5", model="tiny:t5", batch_size=32, max_new_tokens=64))
    measure("t5 tiny:t5 (untrained)", t5, sentences[:args.t5_limit])
    measure(f"spacy (same {args.t5_limit})", spacy_extractor, sentences[:args.t5_limit])


if __name__ == "__main__":
    main()
