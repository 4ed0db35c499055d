"""Prefect's cost over a direct eat_core loop, and the cost of a fully cached re-run.

The same smoke evaluation (8 languages of the bundled sample, tiny local models) runs three times:

1. directly through ``eat_core.evaluation.loop.evaluate`` on a fresh DuckDB file;
2. through the ``full_eval`` flow on another fresh file (LLM cache cold too, so both do the same work);
3. through ``full_eval`` again on that file: every shard is a Prefect cache hit read from DuckDB.

A Prefect server is started first (its 15-25 s start is a one-off per machine, not per run) unless
PREFECT_API_URL is already set. It also prints what fingerprinting a run's inputs costs (the run id covers their
content, ``eat_core/inputs.py``) and the fixed cost of the flow per shard (ms) and per run (s), which does not depend
on shard size. Last line: ``overhead=<flow/direct> cached_rerun=<rerun/flow>``.

    python benchmarks/orchestration.py [--languages ar,hi,...] [--limit 8] [--shard-size 4]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def start_server() -> subprocess.Popen | None:
    if os.environ.get("PREFECT_API_URL"):
        return None
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tempfile.mkdtemp(prefix="prefect-bench-")
    env = dict(os.environ, PREFECT_HOME=home, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    os.environ.update(PREFECT_API_URL=url, PREFECT_HOME=home, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return proc


def fingerprint_costs(cfg, work: Path) -> tuple[float, float]:
    """Seconds to fingerprint the run's inputs from cold (memo cleared), and a 4 GiB (sparse) checkpoint."""
    from eat_core.evaluation import identity as inputs
    from eat_core.evaluation.identity import inputs_of
    from eat_core.hashing import directory_fingerprint

    inputs._MEMO.clear()
    t0 = time.perf_counter()
    inputs_of(cfg)
    cold = time.perf_counter() - t0
    checkpoint = work / "big-checkpoint"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}", encoding="utf-8")
    with (checkpoint / "model.safetensors").open("wb") as handle:
        handle.truncate(4 << 30)
    t0 = time.perf_counter()
    directory_fingerprint(checkpoint)
    return cold, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="ar,hi,hy,ja,ka,ko,ru,zh")
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--shard-size", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="alternating repeats; the minimum of each is kept")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    server = start_server()
    try:
        import logging

        from eat_core.config.requests import EvalRequest
        from eat_core.evaluation.loop import evaluate
        from flows.full_eval import full_eval

        logging.getLogger("prefect").setLevel(logging.WARNING)
        work = Path(tempfile.mkdtemp(prefix="eat-bench-"))
        request = EvalRequest(profile="smoke", languages=tuple(args.languages.split(",")), limit=args.limit,
                              shard_size=args.shard_size)
        cfg = request.resolve()
        evaluate(cfg.with_overrides(**{"data.languages": ("zh",), "data.limit": 2}), work / "warmup.duckdb")

        from eat_core.store import Store

        directs, flows, reruns, inside = [], [], [], []
        for k in range(args.repeat):  # alternate the two paths; fresh files (and LLM caches) every time
            t0 = time.perf_counter()
            evaluate(cfg, work / f"direct{k}.duckdb")
            directs.append(time.perf_counter() - t0)
            flow_request = request.model_copy(update={"db": str(work / f"flow{k}.duckdb")})
            t0 = time.perf_counter()
            full_eval(flow_request)
            flows.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            full_eval(flow_request)
            reruns.append(time.perf_counter() - t0)
            inside.append([Store(work / f"{name}{k}.duckdb").query("SELECT sum(seconds) FROM shards")[0][0]
                           for name in ("direct", "flow")])
            print(f"repeat {k}: direct {directs[-1]:.2f} s, flow {flows[-1]:.2f} s, cached re-run {reruns[-1]:.2f} s;"
                  f" time inside shards: direct {inside[-1][0]:.2f} s, flow {inside[-1][1]:.2f} s", flush=True)
        from eat_core.evaluation.shards import plan_shards

        plan = plan_shards(cfg)
        direct, flow, rerun = min(directs), min(flows), min(reruns)
        print(f"sentences={sum(n for _, _, n in plan)} shards={len(plan)} repeats={args.repeat} (minimum of each)")
        print(f"direct loop:      {direct:7.2f} s")
        print(f"full_eval flow:   {flow:7.2f} s")
        print(f"cached re-run:    {rerun:7.2f} s")
        cold, big = fingerprint_costs(cfg, work)
        print(f"fingerprint_s={cold:.3f} (every input of this run, cold: prompts, models, data; "
              f"{100 * cold / direct:.1f}% of the direct run)")
        print(f"fingerprint_4gib_checkpoint_s={big:.3f} (a 4 GiB weights file: 2 MiB of it are read)")
        n_shards = len(plan)
        print(f"fixed_cost_per_shard_ms={1000 * (flow - direct) / n_shards:.1f} "
              f"fixed_cost_per_run_s={flow - direct:.2f} cached_rerun_s={rerun:.2f} (target <= 50 ms per shard)")
        print(f"overhead={flow / direct:.3f} cached_rerun={rerun / flow:.3f}")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
