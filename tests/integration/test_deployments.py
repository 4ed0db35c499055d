"""Deployments end to end on a real Prefect server and process worker on 127.0.0.1.

One server per test module (its start takes 15-25 s): create the work pool, `prefect deploy --all` from the repo's
prefect.yaml, `prefect deployment run eat/full-eval`, a worker. Then the crash: SIGKILL the worker and its flow-run
process in the middle of a run, start a new worker, run again, and check that the results equal an uninterrupted
run's and that no shard finished before the crash was recomputed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support.db import predictions
from support.paths import REPO

from eat_core.store import Store

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_API_URL=f"http://127.0.0.1:{port}/api", EAT_CHECKOUT=str(REPO), HF_HUB_OFFLINE="1",
               EAT_CACHE_DIR=str(tmp_path_factory.getbasetemp() / "eat-cache"), PYTHONUNBUFFERED="1",
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="2")  # the scheduler's first pass within seconds
    env["EAT_SERVER_LOG"] = str(home / "server.log")
    log = open(home / "server.log", "w")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{env['PREFECT_API_URL']}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail("Prefect server did not start: " + (home / "server.log").read_text()[-2000:])
        time.sleep(0.5)
    try:
        prefect(env, "work-pool", "create", "eat-pool", "--type", "process")
        prefect(env, "--no-prompt", "deploy", "--all")
        yield env
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        log.close()


def prefect(env, *args, timeout=180):
    out = subprocess.run([str(BIN / "prefect"), *args], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, f"prefect {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def run_deployment(env, request: dict, retries: int = 2) -> str:
    """Start a run of eat/full-eval; returns its flow-run id."""
    out = prefect(env, "deployment", "run", "eat/full-eval", "--param", f"request={json.dumps(request)}",
                  "--param", "retry_delay_s=0", "--param", f"retries={retries}")
    return re.search(r"flow-run/([0-9a-f-]{36})", out).group(1)


def worker(env, *extra) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "eat-pool", *extra], env=env,
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def shards(db: Path) -> dict[tuple[str, int], tuple]:
    if not db.exists():
        return {}
    rows = Store(db, lock_timeout_s=30).query(
        "SELECT lang, shard_index, status, attempts, cache_hits, cache_misses, seconds FROM shards")
    return {(r[0], r[1]): r[2:] for r in rows}


REQUEST = {"profile": "smoke", "languages": ["zh", "ja", "ko", "ar"], "limit": 8, "shard_size": 2}


def test_deployment_run_then_crash_and_resume(prefect_env, tmp_path):
    # 1. an uninterrupted run through the deployment
    reference = tmp_path / "reference.duckdb"
    flow_run_id = run_deployment(prefect_env, {**REQUEST, "db": str(reference)})
    assert worker(prefect_env, "--run-once").wait(timeout=300) == 0
    done = shards(reference)
    assert len(done) == 16 and {v[0] for v in done.values()} == {"done"}
    tables = Store(reference).query("SELECT count(*) FROM metrics WHERE metric = 'token_f1'")
    assert tables == [(4,)]
    check_completed_run_artifacts(prefect_env, flow_run_id, reference)

    # 2. the same run on a fresh file, killed in the middle (results are queried read-only while it runs)
    crashed = tmp_path / "crashed.duckdb"
    run_deployment(prefect_env, {**REQUEST, "db": str(crashed)})
    proc = worker(prefect_env)
    deadline = time.monotonic() + 240
    read_while_running = None
    while True:
        state = shards(crashed)
        if state and read_while_running is None:  # a user's `eat results` in another process, mid-run
            read_while_running = subprocess.run([sys.executable, "-m", "eat_cli", "results", "--db", str(crashed)],
                                                env=prefect_env, capture_output=True, text=True, timeout=120)
        finished = sum(v[0] == "done" for v in state.values())
        if 3 <= finished < 16:
            break
        assert finished < 16, "the run finished before it could be interrupted"
        assert time.monotonic() < deadline, "no shard finished in time"
        time.sleep(0.2)
    assert read_while_running.returncode == 0, read_while_running.stderr
    assert "tokF1" in read_while_running.stdout and re.search(r"^(zh|ja|ko|ar) ", read_while_running.stdout, re.M)
    family = [proc, *psutil.Process(proc.pid).children(recursive=True)]
    for p in family:
        p.kill() if isinstance(p, psutil.Process) else os.kill(p.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(1)
    before = {k: v for k, v in shards(crashed).items() if v[0] == "done"}
    assert 3 <= len(before) < 16
    time.sleep(2)
    assert {k: v for k, v in shards(crashed).items() if v[0] == "done"} == before, "a killed process kept writing"

    # 3. resume: a new deployment run with the same parameters, a new worker
    run_deployment(prefect_env, {**REQUEST, "db": str(crashed)})
    assert worker(prefect_env, "--run-once").wait(timeout=300) == 0
    after = shards(crashed)
    assert {v[0] for v in after.values()} == {"done"} and len(after) == 16
    for key, row in before.items():  # finished shards were not recomputed: same attempts, calls, timing
        status, attempts, hits, misses, seconds = row
        # reused whole this time: their cost stays that of the computation that made them
        assert after[key] == (status, attempts, hits, misses, seconds), key
    assert predictions(crashed) == predictions(reference)


def flow_run_artifacts(env, flow_run_id: str) -> dict[str, dict]:
    """``{key: artifact}`` of every artifact the server holds for a flow run (its own and its task runs')."""
    import httpx

    body = {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}
    found = httpx.post(f"{env['PREFECT_API_URL']}/artifacts/filter", json=body, timeout=30).json()
    return {a["key"]: a for a in found}


def check_completed_run_artifacts(env, flow_run_id: str, db: Path) -> None:
    """Four artifacts on the flow run itself (not on a task run, or the flow run's Artifacts tab says "None"), keyed
    by method and headline F1; the table rounded to 2 decimals, the raw data one command away."""
    (run_id,) = Store(db).query("SELECT run_id FROM runs")[0]
    (avg,) = Store(db).query("SELECT avg(value) FROM metrics WHERE metric = 'token_f1' AND run_id = ?", [run_id])[0]
    key = f"eat-f1-{avg:.2f}".replace(".", "-") + f"-{run_id}"
    artifacts = flow_run_artifacts(env, flow_run_id)
    assert set(artifacts) == {key, f"{key}-table", "compare-sample-dev", f"plots-eat-{run_id}"}
    assert all(a["task_run_id"] is None for a in artifacts.values())
    results, table = artifacts[key], artifacts[f"{key}-table"]
    assert f"eat results {run_id} --db {db} --format json" in results["data"]
    rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert sorted(r["lang"] for r in rows) == ["ar", "ja", "ko", "zh"]
    assert len(rows[0]) <= 13  # curated: not the 26 raw columns
    stored = dict(Store(db).query("SELECT lang, value FROM metrics WHERE metric = 'token_f1' AND run_id = ?",
                                  [run_id]))
    for row in rows:
        assert row["token F1 (paper)"] == round(stored[row["lang"]], 2)
        numbers = [v for v in row.values() if isinstance(v, float)]
        assert numbers and all(round(v, 2) == v for v in numbers), row
    assert artifacts[f"plots-eat-{run_id}"]["data"].count("(data:image/png;base64,") == 2


def flow_run_logs(env, flow_run_id: str) -> list[dict]:
    import httpx

    body = {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "TIMESTAMP_ASC", "limit": 200}
    return httpx.post(f"{env['PREFECT_API_URL']}/logs/filter", json=body, timeout=30).json()


def test_a_run_with_failed_shards_shows_each_cause_once_in_its_logs_and_artifacts(prefect_env, tmp_path):
    """A dead LLM endpoint: each failed shard is one ERROR line in the flow run's logs (no traceback: that is
    debug-level), and the run's artifacts, on its flow run, name the failed shards and the cause."""
    db = tmp_path / "dead.duckdb"
    dead = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    request = {"profile": "smoke", "languages": ["zh", "ja"], "limit": 2, "shard_size": 2, "db": str(db),
               "llm_backend": "openai", "base_url": dead, "llm": "served"}
    flow_run_id = run_deployment(prefect_env, request, retries=0)
    worker(prefect_env, "--run-once").wait(timeout=300)
    state, message = flow_run_state(prefect_env, flow_run_id)
    assert state == "FAILED" and "2 shard(s) failed" in message and "ServiceUnavailable" in message
    logs = flow_run_logs(prefect_env, flow_run_id)
    assert not [x for x in logs if "Traceback (most recent call last)" in x["message"]], \
        [x["message"][:300] for x in logs if "Traceback" in x["message"]]
    (run_id,) = Store(db).query("SELECT run_id FROM runs")[0]
    errors = [x["message"] for x in logs if x["level"] >= 40]
    final = f"Finished in state Failed('run {run_id}: 2 shard(s) failed"  # the flow's state (may not be sent yet)
    shard_lines = sorted(m.split(":")[0] for m in errors if not m.startswith(final))
    # one ERROR line per failed shard, none from the shard tasks themselves
    assert shard_lines == ["ja shard 0 failed", "zh shard 0 failed"], errors
    assert all("ServiceUnavailable: " + dead in m for m in errors)

    artifacts = flow_run_artifacts(prefect_env, flow_run_id)
    assert set(artifacts) == {f"eat-failed-{run_id}", f"eat-failed-{run_id}-table", "compare-sample-dev",
                              f"plots-eat-{run_id}"}
    assert all(a["task_run_id"] is None for a in artifacts.values())
    text = artifacts[f"eat-failed-{run_id}"]["data"]
    cause = next(line for line in text.splitlines() if line.startswith("| ") and "ServiceUnavailable" in line)
    assert "ja/0, zh/0" in cause and dead in cause
    assert "no failure recorded" not in text
    table = artifacts[f"eat-failed-{run_id}-table"]["data"]
    rows = json.loads(table) if isinstance(table, str) else table
    assert all(r["failed shards"].startswith("0: ServiceUnavailable: " + dead) for r in rows)
    assert "ServiceUnavailable" in artifacts["compare-sample-dev"]["data"]


def flow_run_state(env, flow_run_id: str) -> tuple[str, str]:
    """(state type, state message) from the server's REST API."""
    import httpx

    state = httpx.get(f"{env['PREFECT_API_URL']}/flow_runs/{flow_run_id}", timeout=30).json()["state"]
    return state["type"], state.get("message") or ""


def test_bad_parameters_fail_the_flow_at_once_with_one_line_and_flow_run_retry_resumes(prefect_env, tmp_path,
                                                                                       tiny_t5):
    db = tmp_path / "failing.duckdb"
    model = tmp_path / "extractor"  # does not exist yet: the request is refused before any shard is planned
    request = {"profile": "smoke", "languages": ["zh"], "limit": 4, "shard_size": 2, "db": str(db),
               "extractor": "t5", "extractor_model": str(model)}
    flow_run_id = run_deployment(prefect_env, request, retries=1)
    worker(prefect_env, "--run-once").wait(timeout=300)
    state, message = flow_run_state(prefect_env, flow_run_id)
    assert state == "FAILED"
    assert message == f"extractor_model: no such model directory {str(model)!r} (and not a hub id like 'org/name')"
    assert not db.exists()  # nothing planned, nothing retried

    shutil.copytree(tiny_t5, model)  # fix the cause, then retry the same flow run
    prefect(prefect_env, "flow-run", "retry", flow_run_id)
    assert worker(prefect_env, "--run-once").wait(timeout=300) == 0
    assert flow_run_state(prefect_env, flow_run_id)[0] == "COMPLETED"
    assert Store(db).query("SELECT status, attempts FROM shards ORDER BY shard_index") == [("done", 1), ("done", 1)]


def test_eacl_refresh_deployment_is_scheduled_and_harvests_through_a_worker(prefect_env, tmp_path):
    import httpx
    from mediawiki_server import MediaWikiServer
    from test_eacl import WIKI

    api = prefect_env["PREFECT_API_URL"]
    deployment = httpx.get(f"{api}/deployments/name/eacl/refresh", timeout=30).json()
    crons = [s["schedule"]["cron"] for s in deployment["schedules"]]
    assert crons == ["0 3 * * 0"]
    entities = tmp_path / "entities.txt"
    entities.write_text("EU\nParis\nMercury\n", encoding="utf-8")
    db = tmp_path / "eacl.duckdb"
    with MediaWikiServer(WIKI) as server:
        params = {"db": str(db), "languages": ["zh", "ru"], "entities_file": str(entities),
                  "user_agent": "eat-ner-tests/0.1 (tests@example.org)", "endpoint": server.endpoint,
                  "out_dir": str(tmp_path / "eacl"), "official_dir": None}
        out = prefect(prefect_env, "deployment", "run", "eacl/refresh", "--params", json.dumps(params))
        flow_run_id = re.search(r"flow-run/([0-9a-f-]{36})", out).group(1)
        assert worker(prefect_env, "--run-once").wait(timeout=300) == 0
    assert flow_run_state(prefect_env, flow_run_id)[0] == "COMPLETED"
    kept = Store(db).query("SELECT lang, tgt_entity FROM eacl_pairs WHERE kept ORDER BY lang, tgt_entity")
    assert kept == [("ru", "Европейский союз"), ("zh", "巴黎"), ("zh", "欧洲联盟")]
    assert (tmp_path / "eacl" / "eacl_zh_train.json").is_file()


def test_the_scheduler_creates_the_weekly_refresh_runs_without_error(prefect_env):
    """With SQLAlchemy 2.1, Prefect 3.8's scheduler fails every loop ("Can't evaluate bulk DML statement") and creates
    no run, so the weekly eacl/refresh never happens; pyproject.toml pins SQLAlchemy below 2.1 for this."""
    import httpx

    api = prefect_env["PREFECT_API_URL"]
    deployment = httpx.get(f"{api}/deployments/name/eacl/refresh", timeout=30).json()
    body = {"deployments": {"id": {"any_": [deployment["id"]]}},
            "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}}
    deadline, scheduled = time.monotonic() + 90, []
    while not scheduled and time.monotonic() < deadline:
        scheduled = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=30).json()
        time.sleep(1)
    log = Path(prefect_env["EAT_SERVER_LOG"]).read_text(encoding="utf-8", errors="replace")
    assert "bulk DML" not in log and "Unexpected error in: Scheduler" not in log, log[-3000:]
    assert scheduled, "the scheduler created no run of eacl/refresh in 90 s"
    times = sorted(run["expected_start_time"] for run in scheduled)
    assert all(t.endswith(("T03:00:00Z", "T03:00:00+00:00")) for t in times), times  # Sundays, 03:00 UTC


def test_a_refresh_without_a_contact_address_is_refused_before_any_request(prefect_env, tmp_path):
    """The deployment's placeholder user agent ("set a contact address") never reaches Wikipedia: the run fails at
    once with one line naming the parameter."""
    params = {"db": str(tmp_path / "eacl.duckdb"), "languages": ["zh"], "official_dir": None,
              "entities_file": None, "endpoint": "http://127.0.0.1:9/unreachable"}  # the yaml's user_agent applies
    out = prefect(prefect_env, "deployment", "run", "eacl/refresh", "--params", json.dumps(params))
    flow_run_id = re.search(r"flow-run/([0-9a-f-]{36})", out).group(1)
    assert worker(prefect_env, "--run-once").wait(timeout=300) == 0
    state, message = flow_run_state(prefect_env, flow_run_id)
    assert state == "FAILED"
    assert message.startswith("user_agent: ") and "contact" in message and "\n" not in message, message
    assert not (tmp_path / "eacl.duckdb").exists()  # refused before the harvest opened the workspace


PIPELINES = {"eat/full-eval": "eat", "tag/corpus": "tag", "distill/student": "distill",
             "train-extractor/english": "train-extractor", "finetune/qlora": "finetune", "eacl/refresh": "eacl"}
"""The deployments README.md documents, and the flow each runs under (one flow name per pipeline)."""


def test_each_documented_deployment_runs_under_its_own_flow_with_a_described_form(prefect_env):
    """What the Flows page and the run form show, read back from the server."""
    import httpx

    api = prefect_env["PREFECT_API_URL"]
    flows = {f["id"]: f["name"] for f in httpx.post(f"{api}/flows/filter", json={}, timeout=30).json()}
    for name, flow_name in PIPELINES.items():
        response = httpx.get(f"{api}/deployments/name/{name}", timeout=30)
        assert response.status_code == 200, name
        assert flows[response.json()["flow_id"]] == flow_name
    schema = httpx.get(f"{api}/deployments/name/eat/full-eval", timeout=30).json()["parameter_openapi_schema"]
    fields = schema["definitions"]["EvalRequest"]["properties"]
    assert [f for f, s in fields.items() if not s.get("description")] == []
    assert fields["method"]["anyOf"][0]["enum"] == ["eat", "eat-ft", "direct", "crop", "fusion", "model-transfer"]
    assert fields["profile"]["enum"] == ["smoke", "paper", "paper-ft"]
    assert schema["properties"]["retries"]["description"].startswith("retries of a failed shard")


def test_runs_are_named_and_tagged_after_method_model_and_languages(prefect_env, tmp_path):
    """A CROP run and a run with a bad language, as the runs list shows them; the bad one's state message names the
    JSON key the user typed (``languages``), not ``eat run``'s flag."""
    import httpx

    api = prefect_env["PREFECT_API_URL"]
    crop = run_deployment(prefect_env, {"profile": "smoke", "languages": ["zh"], "limit": 2, "shard_size": 2,
                                        "db": str(tmp_path / "crop.duckdb"), "method": "crop"})
    bad = run_deployment(prefect_env, {"profile": "smoke", "languages": ["zh", "xx"],
                                       "db": str(tmp_path / "bad.duckdb")})
    for _ in range(2):
        assert worker(prefect_env, "--run-once").wait(timeout=300) == 0
    runs = {i: httpx.get(f"{api}/flow_runs/{i}", timeout=30).json() for i in (crop, bad)}
    assert runs[crop]["state"]["type"] == "COMPLETED", runs[crop]["state"]
    assert runs[crop]["name"] == "full-eval crop tiny-qwen2 zh"
    assert {"eat", "evaluation", "method:crop", "profile:smoke", "model:tiny-qwen2", "lang:zh"} <= set(
        runs[crop]["tags"]), runs[crop]["tags"]
    assert runs[bad]["name"] == "full-eval (invalid request)"
    assert runs[bad]["state"]["type"] == "FAILED"
    assert runs[bad]["state"]["message"].startswith("languages: unknown language code 'xx'"), runs[bad]["state"]


def test_a_name_outside_the_choices_is_refused_before_a_run_naming_the_key(prefect_env):
    """The server checks the form's choices: ``method: crap`` creates no run, and the error names ``method``."""
    out = subprocess.run([str(BIN / "prefect"), "deployment", "run", "eat/full-eval", "--param",
                          'request={"profile": "smoke", "method": "crap"}'], env=prefect_env, cwd=REPO,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode != 0
    said = " ".join((out.stdout + out.stderr).split())
    assert "method" in said and "'crap' is not one of" in said, said


def test_every_preset_is_accepted_by_the_server(prefect_env):
    """``prefect deployment run NAME --params "$(cat deployments/PRESET)"`` as README says, for every preset: the
    server checks the parameters against the form and creates the run (scheduled a year ahead, so no worker here
    picks it up, and deleted at once so the scheduler test sees only cron runs). Execution options inside
    ``request`` were refused: they go in ``execution``."""
    import httpx
    from test_run_form import presets

    for preset, deployment in presets():
        params = (REPO / "deployments" / preset).read_text(encoding="utf-8")
        out = prefect(prefect_env, "deployment", "run", deployment, "--params", params, "--start-in", "52 weeks")
        created = re.search(r"flow-run/([0-9a-f-]{36})", out)
        assert created, (preset, out)
        httpx.delete(f"{prefect_env['PREFECT_API_URL']}/flow_runs/{created.group(1)}", timeout=30).raise_for_status()
