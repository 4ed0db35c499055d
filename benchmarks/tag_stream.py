"""Does `eat tag` stream? Peak memory of tagging 10,000 and 100,000 lines, each in a fresh process.

    python benchmarks/tag_stream.py            # a few minutes on 2 CPU cores

Generates a plain-text corpus of each size (mixed Latin, Cyrillic and CJK words, 4 to 16 tokens a line), tags it with
``eat tag --direct --method model-transfer --extractor token-classification --extractor-model tiny:bert-tc`` (a tiny
local token classifier: no LLM, so the run measures the reader, shard runner, DuckDB writes and exporter, not
generation; the student tagger of ``eat distill`` will take its place; one torch thread, the fastest on a shared
2-core machine), reads the child's ``ru_maxrss`` and prints
``rss_growth`` = peak RSS at 100k over peak RSS at 10k. Streaming means the ratio stays near 1 (target <= 1.2): the
corpus is never held whole, only shard boundaries, one shard of records and the output handle.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000)
SHARD_SIZE = 500
WORDS = ["Moscow", "Paris", "Berlin", "Obama", "United", "Nations", "visited", "the", "of", "and", "Москва", "Путин",
         "посетил", "город", "北京", "东京", "大学", "访问", "Ереван", "Tbilisi", "2024", ",", ".", "(", ")"]


def make_corpus(path: Path, lines: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(lines):
            handle.write(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16))) + "\n")


def child(corpus: str, db: str, out: str) -> None:
    """Tag ``corpus`` in this process; print one JSON line with peak RSS (KiB on Linux) and counts."""
    sys.path.insert(0, str(REPO))
    from eat_core.tagging.runner import tag_corpus

    t0 = time.perf_counter()
    result = tag_corpus({"input": corpus, "lang": "en", "out": out, "db": db, "profile": "smoke",
                         "method": "model-transfer", "extractor": "token-classification",
                         "extractor_model": "tiny:bert-tc", "shard_size": SHARD_SIZE})
    print(json.dumps({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "records": result.records,
                      "entities": result.entities, "seconds": round(time.perf_counter() - t0, 1)}))


def main() -> None:
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for n in SIZES:
            corpus = root / f"corpus-{n}.txt"
            make_corpus(corpus, n)
            out = subprocess.run([sys.executable, __file__, "--child", str(corpus), str(root / f"{n}.duckdb"),
                                  str(root / f"{n}.jsonl")], capture_output=True, text=True, check=False,
                                 env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
            if out.returncode != 0:
                sys.exit(f"tagging {n} lines failed:\n{out.stderr[-3000:]}")
            stats = json.loads(out.stdout.strip().splitlines()[-1])
            lines_out = sum(1 for _ in (root / f"{n}.jsonl").open(encoding="utf-8"))
            assert lines_out == n == stats["records"], (lines_out, n, stats)
            peaks[n] = stats["maxrss_kib"]
            print(f"lines={n} peak_rss_mib={stats['maxrss_kib'] / 1024:.1f} seconds={stats['seconds']} "
                  f"lines_per_s={n / stats['seconds']:.0f} entities={stats['entities']} "
                  f"corpus_mib={corpus.stat().st_size / 2**20:.1f}", flush=True)
    print(f"rss_growth={peaks[SIZES[1]] / peaks[SIZES[0]]:.3f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        main()
