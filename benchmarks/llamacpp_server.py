"""A real inference server against the stand-in: seconds per sentence of the smoke evaluation through each.

Both runs are the smoke profile (tiny Qwen2, sampling with seed 0, heuristic extractor, the bundled sample) through
``--llm-backend openai`` (``eat_core.evaluation.loop.evaluate``), each into a fresh DuckDB file so no call is
cached, one after the other on the same machine:

* ``llamacpp``: ``eat serve`` (llama.cpp via xllamacpp, the ``llamacpp`` extra) with the tiny Qwen2 as an F32 GGUF,
  its defaults (one slot, no prompt cache: reproducible answers), ``--threads`` as given;
* ``stand-in``: ``tests/chat_server.py`` answering with ``TransformersBackend`` (the same tiny model in torch, one
  request at a time), the server every served-path test used before.

Server start-up is not timed. Output: one line per server, ``server=... sentences=N seconds=T s_per_sentence=X
requests=R s_per_request=Y``, then ``ratio_llamacpp_over_stand_in=<float>`` (below 1: the real server is faster).
The two servers sample differently (llama.cpp's sampler is not torch's), so their answers, and with them the number
of backward requests per sentence, differ: compare ``s_per_request`` too.

``--threads 1`` (the default here): llama.cpp's decoding threads wait for each other at every step, so on a loaded
machine more threads can be much slower (measured with 2 threads under a load average of ~13 on 2 cores: 10.9
s/sentence against the stand-in's 4.7). The thread count also changes float sums, hence some sampled answers.

    python benchmarks/llamacpp_server.py [--languages zh,ja] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from chat_server import ChatServer  # noqa: E402
from support.llama_server import LlamaServer  # noqa: E402

from eat_core.config.run import get_profile  # noqa: E402
from eat_core.evaluation.loop import evaluate  # noqa: E402
from eat_core.store import Store  # noqa: E402


def timed_run(base_url: str, model: str, languages: tuple[str, ...], db: Path) -> tuple[int, float, int]:
    """(sentences, seconds, LLM requests) of one uncached smoke evaluation through ``base_url``."""
    cfg = get_profile("smoke").with_overrides(**{"llm.backend": "openai", "llm.base_url": base_url,
                                                 "llm.model": model, "data.languages": languages})
    t0 = time.perf_counter()
    result = evaluate(cfg, db)
    seconds = time.perf_counter() - t0
    if result.failed_shards:
        raise SystemExit(f"{base_url}: {len(result.failed_shards)} shard(s) failed: {result.failed_shards[0][2]}")
    sentences, requests = Store(db).query(
        "SELECT (SELECT count(*) FROM predictions), (SELECT count(*) FROM llm_cache)")[0]
    return sentences, seconds, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="ar,hi,hy,ja,ka,ko,ru,zh")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads (0: its default, all cores)")
    args = parser.parse_args()
    languages = tuple(args.languages.split(","))

    from eat_core.llm.transformers_backend import TransformersBackend
    from eat_core.weights.gguf import convert_qwen2_to_gguf
    from eat_core.weights.tiny import build_tiny_qwen2

    rates = {}
    with tempfile.TemporaryDirectory(prefix="eat-llamacpp-") as tmp:
        tmp = Path(tmp)
        tiny = build_tiny_qwen2()
        gguf = convert_qwen2_to_gguf(tiny, tmp / "tiny.gguf", name="tiny")
        with LlamaServer(gguf, "tiny", threads=args.threads, log=tmp / "server.log") as server:
            n, seconds, requests = timed_run(server.base_url, "tiny", languages, tmp / "llamacpp.duckdb")
            rates["llamacpp"] = seconds / n
            print(f"server=llamacpp sentences={n} seconds={seconds:.1f} s_per_sentence={seconds / n:.3f} "
                  f"requests={requests} s_per_request={seconds / requests:.4f}", flush=True)
        with ChatServer(backend=TransformersBackend(str(tiny))) as stand_in:
            n, seconds, requests = timed_run(stand_in.base_url, stand_in.model, languages, tmp / "stand-in.duckdb")
            rates["stand-in"] = seconds / n
            print(f"server=stand-in sentences={n} seconds={seconds:.1f} s_per_sentence={seconds / n:.3f} "
                  f"requests={requests} s_per_request={seconds / requests:.4f}", flush=True)
    print(f"ratio_llamacpp_over_stand_in={rates['llamacpp'] / rates['stand-in']:.3f}")


if __name__ == "__main__":
    main()
