"""The flow path of `eat run` as a process: its temporary Prefect server starts up front, Ctrl-C and SIGTERM stop the
run as on `--direct` (run marked `interrupted`, a re-run resumes), nothing outlives the command, and a test session
that started Prefect ends on pytest's own summary. Real subprocesses, a real temporary server, real DuckDB files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import REPO

from eat_core.store import Store


def flow_env(tmp_path: Path, **extra: str) -> dict:
    """A fresh PREFECT_HOME (also the marker that finds this run's processes) and no PREFECT_API_URL: the CLI
    starts its own temporary server."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update({"PREFECT_HOME": str(tmp_path / "prefect"), "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1", **extra})
    return env


def processes_of(env: dict) -> list[psutil.Process]:
    """Live processes started with this env's PREFECT_HOME (the `eat` process, its server, anything they spawned)."""
    marker = f"PREFECT_HOME={env['PREFECT_HOME']}"
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and marker in "\0".join(
                    f"{k}={v}" for k, v in proc.environ().items()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def gone_within(env: dict, seconds: float) -> list[psutil.Process]:
    deadline = time.monotonic() + seconds
    while (left := processes_of(env)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def done_shards(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        return Store(db, lock_timeout_s=5).query("SELECT count(*) FROM shards WHERE status = 'done'")[0][0]
    except Exception:  # noqa: BLE001 - the writer may hold the file for a moment, or the table is not there yet
        return 0


RUN = ["run", "--profile", "smoke", "--languages", "zh,ar,ja", "--limit", "4", "--shard-size", "2"]


@pytest.fixture
def start_run():
    """`eat run` on the flow path in its own session (as a terminal would run it); whatever of it a failed test
    leaves running is killed at teardown."""
    started: list[dict] = []

    def start(db: Path, env: dict) -> subprocess.Popen:
        started.append(env)
        return subprocess.Popen([sys.executable, "-m", "eat_cli", *RUN, "--db", str(db)], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    yield start
    for env in started:
        for proc in processes_of(env):
            proc.kill()


def wait_for_a_done_shard(proc: subprocess.Popen, db: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while done_shards(db) < 1:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no shard finished in time"
        time.sleep(0.5)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error")]


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "to_group", "code"), [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
                         ids=["ctrl-c-to-the-group", "sigterm"])
def test_a_signal_stops_the_flow_run_at_once_marked_interrupted_and_a_rerun_resumes(sig, to_group, code, tmp_path,
                                                                                   start_run):
    db, env = tmp_path / "w.duckdb", flow_env(tmp_path)
    proc = start_run(db, env)
    wait_for_a_done_shard(proc, db)
    (os.killpg if to_group else os.kill)(proc.pid, sig)  # Ctrl-C in a terminal reaches the whole process group
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    took = time.monotonic() - t0
    assert took < 30, f"the run must stop promptly, not finish its shards ({took:.0f} s): {err[-3000:]}"
    assert proc.returncode == code, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    word = "interrupted" if sig == signal.SIGINT else "terminated (SIGTERM)"
    assert error_lines(err) == [f"error: {word}; the run is marked 'interrupted' and the same command resumes it"], \
        err[-3000:]
    store = Store(db)
    assert store.query("SELECT status FROM runs") == [("interrupted",)]
    finished = store.query("SELECT lang, shard_index, attempts, updated_at FROM shards WHERE status = 'done'")
    assert 1 <= len(finished) < 6
    left = gone_within(env, 20)  # the temporary server stopped with the command
    assert left == [], [" ".join(p.cmdline())[:200] for p in left]
    if sig == signal.SIGTERM:
        return
    again = subprocess.run([sys.executable, "-m", "eat_cli", *RUN, "--db", str(db)], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert store.query("SELECT status FROM runs") == [("done",)]
    assert store.query("SELECT count(*) FROM shards WHERE status = 'done'") == [(6,)]
    assert set(finished) <= set(store.query("SELECT lang, shard_index, attempts, updated_at FROM shards")), \
        "a shard finished before the interrupt was computed again"


@pytest.mark.slow
def test_kill_9_of_eat_takes_its_temporary_server_with_it(tmp_path, start_run):
    db, env = tmp_path / "w.duckdb", flow_env(tmp_path)
    proc = start_run(db, env)
    deadline = time.monotonic() + 300
    while not psutil.Process(proc.pid).children(recursive=True):  # the server is up once it is a child
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    family = psutil.Process(proc.pid).children(recursive=True)
    assert any("uvicorn" in " ".join(p.cmdline()) for p in family)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)  # not communicate(): a surviving server would hold the pipes open
    left = gone_within(env, 20)
    assert left == [], [" ".join(p.cmdline())[:200] for p in left]
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family)


@pytest.mark.slow
def test_a_temporary_server_that_does_not_start_in_time_is_one_line_before_any_shard(tmp_path):
    db = tmp_path / "w.duckdb"
    env = flow_env(tmp_path, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1")  # a fresh home needs > 10 s
    out = subprocess.run([sys.executable, "-m", "eat_cli", *RUN, "--db", str(db)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr[-3000:]
    assert out.stderr.strip().splitlines() == [
        "error: the temporary Prefect server did not answer within 1 s (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_"
        "SECONDS=1); raise it, start a server with 'prefect server start' and set PREFECT_API_URL, or use --direct"]
    assert not db.exists() or Store(db).query("SELECT count(*) FROM runs") == [(0,)]  # no run, no shard
    assert gone_within(env, 20) == []  # the half-started server was stopped


INNER = '''
from prefect import flow, task

@task
def add_one(x: int) -> int:
    return x + 1

@flow
def ping(x: int) -> int:
    return add_one(x)

def test_a_flow_on_a_temporary_server():
    assert ping(1) == 2
'''


@pytest.mark.slow
def test_a_test_session_that_starts_prefect_ends_on_its_summary(tmp_path):
    """Prefect starts its temporary server inside pytest (as tests/test_dask.py does): the repo's conftest must
    stop it before pytest closes its streams, or a '--- Logging error ---' report follows the summary."""
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    env = flow_env(tmp_path, PYTHONPATH=os.pathsep.join([str(REPO / "tests"), str(REPO)]))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                          "test_inner.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "--- Logging error ---" not in text and "Traceback" not in text, text[-3000:]
    assert text.strip().splitlines()[-1].startswith("1 passed"), text[-3000:]


def test_ctrl_c_inside_a_duckdb_query_is_not_retried_and_stops_the_flow_between_shards():
    """DuckDB answers SIGINT with RuntimeError('Query interrupted'), no KeyboardInterrupt left: the recorded signal
    is what keeps the shard task from being retried and the flow from going on to the next shard."""
    import duckdb
    from prefect.states import Failed

    from tasks import interrupt
    from tasks.evaluation import retry_unless_permanent

    con = duckdb.connect(config={"threads": 1})  # one thread: the interrupt lands within a second
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    with interrupt.stop_on_signals():
        assert interrupt.requested() is None
        assert retry_unless_permanent(None, None, Failed(data=RuntimeError("connection reset"))) is True
        timer.start()
        with pytest.raises(RuntimeError, match="Query interrupted") as caught:
            con.execute("SELECT count(*) FROM range(1000000000000)").fetchall()
        assert interrupt.requested() == signal.SIGINT
        assert retry_unless_permanent(None, None, Failed(data=caught.value)) is False
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_an_error_raised_while_handling_an_interrupt_is_not_retried():
    from prefect.states import Failed

    from tasks.evaluation import retry_unless_permanent

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise OSError("closing the file failed") from None
    except OSError as exc:
        derived = exc
    assert retry_unless_permanent(None, None, Failed(data=derived)) is False
    assert retry_unless_permanent(None, None, Failed(data=OSError("disk busy"))) is True
