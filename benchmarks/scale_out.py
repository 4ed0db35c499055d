"""Scale-out: the same evaluation through more LLM servers (part a) and more Dask shard workers (part b).

Part (a) runs one EAT evaluation (``eat_core.evaluation.loop.evaluate``, openai backend, shards one after another, every
request of a round sent at once) through 1, 2 and 4 OpenAI-compatible servers on 127.0.0.1, each a fresh DuckDB file
so no call is cached. The servers are ``tests/chat_server.py`` with a latency model standing in for GPU servers:

    each server processes at most B requests at once, each taking L seconds (whatever its length); the rest queue.

One server therefore answers at most B/L requests/s and n servers n*B/L, so a round of R requests takes
ceil(R / (n*B)) * L on n servers when the pool spreads load evenly (least outstanding requests). What does not shrink
with more servers is the client side: prompts, alignment, and DuckDB reads and writes (the LLM cache per round, the
shard's predictions). ``speedup_4`` = throughput on 4 servers / on 1; the target is >= 3.5.

    python benchmarks/scale_out.py                  # part (a), about 3 minutes on an idle 2-core machine
    python benchmarks/scale_out.py --store-writes   # DuckDB write times behind docs/capacity.md, then exit

Output lines (part a): ``endpoints=N sentences=S seconds=T sentences_per_s=X requests=R per_server=[...]``, then
``speedup_4=<float>``; (part b, ``--part b``): ``dask_workers=N ...`` for 1 and 2 worker processes on the smoke
profile's tiny local model, then ``dask_speedup_2=<float>`` (target >= 1.6 on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the loopback chat server the tests use

from chat_server import ChatServer  # noqa: E402
from support.fakes import hashed_script  # noqa: E402

from eat_core.config.run import get_profile  # noqa: E402
from eat_core.evaluation.loop import evaluate  # noqa: E402

LATENCY_S = 0.5  # L: seconds per request on a server
MAX_BATCH = 2  # B: requests a server processes at once (a server answers at most B/L = 4 requests/s)
LANGUAGES = ("zh", "ru")  # bundled sample: 16 sentences each, one shard of 16 per language (~400 requests)
scripted = hashed_script().answer  # a deterministic 'LLM' for every EAT prompt, the one tests/test_endpoints.py uses


def run_through(n_servers: int, workdir: Path, *, latency_s: float = LATENCY_S, max_batch: int = MAX_BATCH,
                languages: tuple[str, ...] = LANGUAGES, limit: int = 16) -> dict:
    """One evaluation through ``n_servers`` latency-model servers on a fresh DuckDB file."""
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(ChatServer(responder=scripted, latency_s=latency_s, max_batch=max_batch))
                   for _ in range(n_servers)]
        cfg = get_profile("smoke").with_overrides(**{
            "llm.backend": "openai", "llm.base_url": ",".join(s.base_url for s in servers), "llm.model": "served",
            "llm.temperature": 0.0, "llm.seed": None, "llm.concurrency": 256, "data.languages": languages,
            "data.limit": limit, "shard_size": limit})
        t0 = time.perf_counter()
        result = evaluate(cfg, workdir / f"endpoints-{n_servers}.duckdb", run_id=f"scale-{n_servers}")
        seconds = time.perf_counter() - t0
        if result.failed_shards:
            raise SystemExit(f"endpoints={n_servers}: {len(result.failed_shards)} shard(s) failed: "
                             f"{result.failed_shards[0][2]}")
        answered = [s.answered for s in servers]
    sentences = len(languages) * limit
    return {"endpoints": n_servers, "sentences": sentences, "seconds": seconds,
            "sentences_per_s": sentences / seconds, "requests": sum(answered), "per_server": answered}


def part_a(counts: tuple[int, ...] = (1, 2, 4)) -> list[str]:
    """More LLM servers behind one run: throughput per server count, then ``speedup_4``."""
    lines, rates = [], {}
    with tempfile.TemporaryDirectory(prefix="eat-scale-") as tmp:
        for n in counts:
            r = run_through(n, Path(tmp))
            rates[n] = r["sentences_per_s"]
            line = (f"endpoints={n} sentences={r['sentences']} seconds={r['seconds']:.1f} "
                    f"sentences_per_s={r['sentences_per_s']:.3f} requests={r['requests']} per_server={r['per_server']}")
            print(line, flush=True)
            lines.append(line)
    speedup = f"speedup_{max(counts)}={rates[max(counts)] / rates[min(counts)]:.2f}"
    print(speedup, flush=True)
    return [*lines, speedup]


def dask_run(n_workers: int, workdir: Path) -> tuple[float, int]:
    """One smoke evaluation through ``full_eval`` on an already started LocalCluster of ``n_workers`` processes."""
    from distributed import Client, LocalCluster

    from eat_core.config.requests import EvalRequest, ExecutionOptions
    from flows.full_eval import full_eval

    # one torch thread per worker process, as `eat run --dask-workers N` sets (dask_threads_per_worker=1)
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}) as cluster, Client(cluster) as c:
        warm = EvalRequest(profile="smoke", languages=("zh",), limit=n_workers, shard_size=1,
                           db=str(workdir / f"warm{n_workers}.duckdb"))
        execution = ExecutionOptions(dask_address=cluster.scheduler_address)
        full_eval(warm, execution=execution)  # every worker loads the tiny models once, as a long run would amortise
        c.run(lambda: None)
        request = EvalRequest(profile="smoke", languages=DASK_LANGUAGES, limit=DASK_LIMIT, shard_size=2,
                              db=str(workdir / f"dask{n_workers}.duckdb"))
        t0 = time.perf_counter()
        state = full_eval(request, execution=execution, return_state=True)
        seconds = time.perf_counter() - t0
    if not state.is_completed():
        raise SystemExit(f"dask run with {n_workers} worker(s) failed: {state.message}")
    from eat_core.store import Store

    span = Store(request.db).query("SELECT epoch(max(updated_at) - min(updated_at)) FROM shards")[0][0]
    return seconds, DASK_LIMIT * len(DASK_LANGUAGES), span


DASK_LANGUAGES = ("ar", "hi", "hy", "ja", "ka", "ko", "ru", "zh")
DASK_LIMIT = 16  # the whole bundled sample: 128 sentences in 64 shards


def part_b() -> list[str]:
    """More shard workers: the smoke evaluation (tiny local model, CPU) on 1 and 2 Dask worker processes.

    Each worker process loads the models once (a warm-up run, not timed) and computes shards with one torch thread;
    the flow process persists them. On a 2-core machine the 2 workers share the cores with the flow process and the
    Prefect server. (One worker with torch's default threads already spreads over both cores: process scaling is
    what one worker per GPU gives, not a way to beat a multi-threaded CPU process.)
    """
    import logging
    import os

    from eat_cli.prefect_server import set_prefect_defaults, start_server, stop_server

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    set_prefect_defaults()  # as `eat run`: 120 s for the temporary server's start on a loaded machine
    logging.getLogger("prefect").setLevel(logging.WARNING)
    start_server()  # once, up front, dying with this process; not in the middle of the first timed run
    lines, seconds, spans = [], {}, {}
    with tempfile.TemporaryDirectory(prefix="eat-dask-") as tmp, contextlib.ExitStack() as stop:
        stop.callback(stop_server)
        for n in (1, 2):
            seconds[n], sentences, spans[n] = dask_run(n, Path(tmp))
            line = (f"dask_workers={n} sentences={sentences} seconds={seconds[n]:.1f} "
                    f"sentences_per_s={sentences / seconds[n]:.3f} shard_phase_s={spans[n]:.1f}")
            print(line, flush=True)
            lines.append(line)
    print(f"shard_phase_speedup_2={spans[1] / spans[2]:.2f} (first to last shard persisted; the rest of a run, "
          "validation, planning, scoring and artifacts, does not shrink with workers)", flush=True)
    speedup = f"dask_speedup_2={seconds[1] / seconds[2]:.2f}"
    print(speedup, flush=True)
    return [*lines, speedup]


def store_writes(repeats: int = 5) -> None:
    """Time the single writer: one shard's predictions (``write_shard_result``) and its LLM calls
    (``put_cached_calls``), with row sizes taken from the paper setting (3 rounds, ~2 entities a sentence)."""
    from eat_core.store import Store

    transcript = {"forward": [{"role": r, "content": "x" * 400} for r in ("system", "user", "assistant") * 4],
                  "backward": {f"LOC:Place{k}": [{"role": "user", "content": "y" * 300}] * 6 for k in range(2)}}
    with tempfile.TemporaryDirectory(prefix="eat-store-") as tmp:
        store = Store(Path(tmp) / "w.duckdb")
        store.migrate()
        for shard_size in (64, 256):
            calls = 12 * shard_size  # 5 forward turns + round trip + 3 backward turns x ~2 entities
            times, cache_times = [], []
            for rep in range(repeats):
                rows = [{"sentence_id": f"zh-{shard_size}-{rep}-{i}", "tokens": ["北京"] * 20, "gold": ["O"] * 20,
                         "pred": ["O"] * 20, "english": "Beijing is the capital. " * 3, "roundtrip": "北京是首都。" * 3,
                         "entities": [["Beijing", "LOC"]] * 2, "placements": [[0, 1, "LOC"]] * 2, "failures": [],
                         "transcript": transcript} for i in range(shard_size)]
                t0 = time.perf_counter()
                store.write_shard_result("bench", "zh", shard_size * 100 + rep, rows, 0, calls, 1.0, 0, 0)
                times.append(time.perf_counter() - t0)
                cache_rows = [(hashlib.sha256(f"{shard_size}-{rep}-{k}".encode()).hexdigest(), "Qwen", None,
                               {"messages": [{"role": "user", "content": "z" * 1500}], "decoding": {"t": 0}},
                               "w" * 300, 500, 60, 0.5, False) for k in range(calls)]
                t0 = time.perf_counter()
                store.put_cached_calls(cache_rows)
                cache_times.append(time.perf_counter() - t0)
            times.sort()
            cache_times.sort()
            print(f"store_writes shard_size={shard_size} write_shard_result_s={times[len(times) // 2]:.3f} "
                  f"put_cached_calls_rows={calls} put_cached_calls_s={cache_times[len(cache_times) // 2]:.3f} "
                  f"(median of {repeats})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store-writes", action="store_true", help="time DuckDB writes (docs/capacity.md)")
    parser.add_argument("--part", choices=("a", "b", "both"), default="both",
                        help="a: LLM servers; b: Dask worker processes")
    args = parser.parse_args()
    if args.store_writes:
        store_writes()
        return
    if args.part in ("a", "both"):
        part_a()
    if args.part in ("b", "both"):
        part_b()


if __name__ == "__main__":
    main()
