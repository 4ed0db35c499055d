"""The command-line contract: user errors are one line and exit 2 before any model loads; failed runs exit 1 naming
each failed shard with its cause; cached answers equal fresh ones in every stored column; no path escapes ``--out``;
runs that stop early are marked so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chat_server import ChatServer
from conftest import REPO

from eat_core.config import get_profile
from eat_core.data.limits import InputLimits, apply_limits
from eat_core.errors import ConfigError, DataError
from eat_core.store import Store
from eat_core.types import Sentence
from eat_core.validate import parse_languages, validate_request


def eat(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eat_cli", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def assert_user_error(out: subprocess.CompletedProcess, *needles: str) -> None:
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert 1 <= len(lines) <= 3, out.stderr
    assert "Traceback" not in out.stderr and "loading LLM" not in out.stderr
    for needle in needles:
        assert needle in out.stderr, (needle, out.stderr)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict:
    """A DuckDB file holding two runs, a WikiANN-style directory with an overlong token, a plain file."""
    root = tmp_path_factory.mktemp("contract")
    db = root / "w.duckdb"
    store = Store(db)
    for run in ("smoke-aaaa", "smoke-bbbb"):
        store.upsert_run(run, "smoke", get_profile("smoke").model_dump(mode="json"), "done")
    data = root / "wikiann"
    (data / "zh").mkdir(parents=True)
    (data / "zh" / "dev.tsv").write_text("北\tB-LOC\n京\tI-LOC\n\n" + "我\tO\n" + "长" * 300 + "\tO\n",
                                         encoding="utf-8")
    (root / "afile").write_text("x")
    return {"root": root, "db": db, "data": data, "file": root / "afile"}


RUN_CASES = [
    # (arguments, what stderr must name)
    (["--profile", "papr"], ["--profile", "did you mean 'paper'"]),
    (["--languages", "xx"], ["--languages", "'xx'", "known: ar"]),
    (["--languages", "zhh"], ["--languages", "did you mean 'zh'"]),
    (["--languages", " , "], ["--languages", "no language given"]),
    (["--data", "/no/such/dir"], ["--data", "/no/such/dir"]),
    (["--split", "validation"], ["--split", "'train', 'dev' or 'test'"]),
    (["--limit", "0"], ["--limit", "greater than or equal to 1"]),
    (["--limit", "many"], ["--limit"]),
    (["--llm-backend", "nope"], ["--llm-backend", "available: transformers, openai"]),
    (["--llm", "./no/such/model"], ["--llm", "no such model directory"]),
    (["--llm", "tiny:nope"], ["--llm", "tiny:qwen2"]),
    (["--base-url", "http://127.0.0.1:9/v1"], ["--base-url", "only used with --llm-backend openai"]),
    (["--llm-backend", "openai"], ["--base-url", "http(s) URL"]),
    (["--llm-backend", "openai", "--base-url", "ftp://x"], ["--base-url", "http(s) URL"]),
    (["--adapter", "/no/such/adapter"], ["--adapter", "adapter_config.json"]),
    (["--extractor", "nope"], ["--extractor", "available: t5, token-classification, heuristic"]),
    (["--extractor", "t5", "--extractor-model", "/no/such/t5"], ["--extractor-model", "no such model"]),
    (["--rounds", "2"], ["--rounds", "1, 3 or 5"]),
    (["--rounds", "three"], ["--rounds"]),
    (["--shard-size", "0"], ["--shard-size", "greater than or equal to 1"]),
    (["--run-id", "../../etc/x"], ["--run-id", "is not allowed"]),
    (["--run-id", "a/b"], ["--run-id", "is not allowed"]),
    (["--overlong", "cut"], ["--overlong", "'error' or 'truncate'"]),
    (["--no-such-option"], ["--no-such-option"]),
    (["--method", "crap"], ["--method", "did you mean 'crop'"]),
    (["--method", "eat-ft"], ["--adapter", "'eat-ft' needs a LoRA adapter"]),
    (["--profile", "paper", "--method", "model-transfer"], ["--extractor", "token-classification"]),
    (["--method", "model-transfer", "--extractor", "heuristic"], ["--extractor", "token-classification"]),
    (["--method", "model-transfer", "--extractor", "token-classification", "--extractor-model", "/no/tc"],
     ["--extractor-model", "no such model"]),
    (["--method", "direct", "--demonstrations", "-1"], ["--demonstrations", "greater than or equal to 0"]),
    (["--method", "crop", "--crop-matcher", "x"], ["--crop-matcher", "'crop' or 'eat'"]),
    (["--dask-address", "foo"], ["--dask-address", "tcp://"]),
    (["--dask-workers", "0"], ["--dask-workers", "greater than or equal to 1"]),
    (["--dask-workers", "2"], ["--dask-workers", "drop --direct"]),
]


@pytest.mark.parametrize(("args", "needles"), RUN_CASES, ids=[" ".join(c[0]) for c in RUN_CASES])
def test_every_bad_run_option_is_one_line_and_exit_2(args, needles, tmp_path, capsys):
    from eat_cli.main import app

    db = tmp_path / "x.duckdb"
    with pytest.raises(SystemExit) as exit_info:
        app(["run", "--direct", "--db", str(db), *args])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert exit_info.value.code == 2, err
    assert len(lines) == 1 and "Traceback" not in err and "loading LLM" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not db.exists()  # refused before anything was recorded


def test_subcommand_arguments_are_checked(workspace, tmp_path, capsys):
    from eat_cli.main import app

    db = str(workspace["db"])
    cases = [
        (["results", "nosuchrun", "--db", db], ["unknown run 'nosuchrun'", "smoke-bbbb, smoke-aaaa"]),
        (["report", "nosuchrun", "--db", db, "--out", str(tmp_path / "r")], ["unknown run 'nosuchrun'",
                                                                           "smoke-aaaa"]),
        (["resume", "nosuchrun", "--db", db], ["unknown run 'nosuchrun'", "smoke-aaaa"]),
        (["results", "--db", str(tmp_path / "none.duckdb")], ["no such DuckDB file"]),
        (["report", "smoke-aaaa", "--db", db, "--out", str(workspace["file"])], ["--out", "is a file"]),
        (["data", "check", str(workspace["data"]), "--languages", "xx"], ["--languages", "'xx'"]),
        (["data", "check", str(tmp_path), "--languages", "zh"], ["no 'dev' split for language 'zh'"]),
        (["train-extractor", "--data", str(tmp_path), "--output", str(tmp_path / "o"), "--kind", "nope"],
         ["--kind"]),
        (["eacl", "harvest", "--languages", "../x", "--user-agent", "t", "--entities", str(workspace["file"]),
          "--db", str(tmp_path / "h.duckdb")], ["--languages", "'../x'"]),
        (["nosuchcommand"], ["No such command"]),
    ]
    for args, needles in cases:
        with pytest.raises(SystemExit) as exit_info:
            app(args)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, (args, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (args, err)
        for needle in needles:
            assert needle in err, (args, needle, err)
    assert not (tmp_path / "r").exists()


def test_bad_values_on_the_prefect_path_and_an_overlong_token_name_the_option_or_line(workspace, tmp_path):
    db = str(tmp_path / "p.duckdb")
    assert_user_error(eat("run", "--db", db, "--rounds", "2"), "--rounds")
    assert_user_error(eat("run", "--db", db, "--extractor", "nope"), "--extractor", "available:")
    assert_user_error(eat("run", "--db", db, "--languages", "xx"), "--languages")
    path = workspace["data"] / "zh" / "dev.tsv"
    out = eat("run", "--db", db, "--data", str(workspace["data"]), "--languages", "zh")
    assert_user_error(out, f"{path}:5:", "data.max_token_chars", "truncate")
    assert not Path(db).exists()


def test_languages_are_case_insensitive_trimmed_and_deduplicated():
    assert parse_languages(" ZH, ja ,zh,,Ja") == ("zh", "ja")
    assert parse_languages(["zh", "ZH", "ko,ja"]) == ("zh", "ko", "ja")
    cfg = validate_request({"profile": "smoke", "languages": "zh, ZH", "limit": 4, "shard_size": 2})
    assert cfg.data.languages == ("zh",)
    with pytest.raises(ConfigError, match=r"^unknown parameter 'langs'"):
        validate_request({"langs": ["zh"]})


def test_input_limits_refuse_with_file_and_line_or_truncate_and_count(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text("a\tO\nb\tO\n\nc\tO\nddddddd\tO\n", encoding="utf-8")
    sentences = [Sentence("en-dev-0", "en", ("a", "b"), ("O", "O")),
                 Sentence("en-dev-1", "en", ("c", "ddddddd"), ("O", "O"))]
    with pytest.raises(DataError, match=rf"^{path}:5: token of 7 characters"):
        apply_limits(sentences, InputLimits(max_token_chars=5), path=path)
    with pytest.raises(DataError, match=r"^en-dev-1: sentence of 9 characters"):
        apply_limits(sentences, InputLimits(max_sentence_chars=8))  # hub data: named by sentence id
    kept, cut = apply_limits(sentences, InputLimits(max_token_chars=5, max_sentence_chars=3, overlong="truncate"))
    assert [s.tokens for s in kept] == [("a", "b"), ("c",)] and kept[1].tags == ("O",)
    assert cut == {"token_truncated": 1, "sentence_truncated": 1}
    kept, cut = apply_limits(sentences, InputLimits(max_sentence_tokens=3, overlong="truncate"))
    assert kept[0].tokens == ("a", "b") and cut == {"sentence_truncated": 1}  # "a b" is 3 bytes


def _stored(db: Path, run_id: str) -> dict:
    store = Store(db)
    predictions = store.query(
        "SELECT * EXCLUDE (run_id) FROM predictions WHERE run_id = ? ORDER BY sentence_id", [run_id])
    rows = []
    for row in predictions:
        row = list(row)
        # the transcript's per-round "cached" flag records provenance, the one thing that must differ
        transcript = json.loads(row[-1])
        for rounds in (transcript.get("forward", []), transcript.get("roundtrip", []),
                       *transcript.get("backward", {}).values()):
            for entry in rounds:
                entry.pop("cached", None)
        row[-1] = transcript
        rows.append(row)
    return {
        "predictions": rows,
        "metrics": store.query("SELECT lang, metric, value, signature, details FROM metrics WHERE run_id = ? "
                               "ORDER BY lang, metric", [run_id]),
        "shards": store.query("SELECT lang, shard_index, n_sentences, status, attempts, last_error FROM shards "
                              "WHERE run_id = ? ORDER BY lang, shard_index", [run_id]),
        "run": store.query("SELECT profile, config, status, status_reason FROM runs WHERE run_id = ?", [run_id]),
    }


def test_cached_run_equals_fresh_run_in_every_stored_column_and_counts_hits(tmp_path):
    from eat_core.evaluate import evaluate
    from eat_core.report import results_rows

    db = tmp_path / "w.duckdb"
    cfg = validate_request({"profile": "smoke", "languages": ["zh"], "limit": 4, "shard_size": 2})
    evaluate(cfg, db, run_id="fresh")
    evaluate(cfg, db, run_id="from-cache")
    fresh, cached = _stored(db, "fresh"), _stored(db, "from-cache")
    failures = [f for row in fresh["predictions"] for f in json.loads(row[10])]
    assert "forward_overlong" in failures  # truncated answers are in play, so the flag must survive the cache
    assert fresh == cached
    store = Store(db)
    assert store.query("SELECT sum(cache_misses), sum(cache_hits) > 0 FROM shards WHERE run_id = 'from-cache'") \
        == [(0, True)]
    assert store.query("SELECT count(*) FROM llm_cache WHERE truncated IS NULL") == [(0,)]
    evaluate(cfg, db, run_id="fresh")  # a re-run: every shard comes back from DuckDB
    assert [r["cache_hit_rate"] for r in results_rows(db, "fresh")[1]] == [1.0]


def test_runs_stopped_by_ctrl_c_or_an_error_are_marked_and_resume(tmp_path, monkeypatch):
    import eat_core.evaluate as ev

    db = tmp_path / "w.duckdb"
    cfg = validate_request({"profile": "smoke", "languages": ["zh"], "limit": 2, "shard_size": 2})

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ev, "run_shard", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ev.evaluate(cfg, db, run_id="r1")
    assert Store(db).query("SELECT status, status_reason FROM runs") == [
        ("interrupted", "interrupted (Ctrl-C); re-run the same command to resume")]

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(ev, "plan_shards", broken)
    with pytest.raises(OSError):
        ev.evaluate(cfg, db, run_id="r1")
    assert Store(db).query("SELECT status, status_reason FROM runs") == [("failed", "OSError: disk on fire")]


def test_a_run_id_with_dot_dot_or_slash_cannot_write_outside_out(tmp_path):
    from eat_core.report import write_report

    db = tmp_path / "w.duckdb"
    out = tmp_path / "deep" / "out"
    store = Store(db)  # runs recorded before ids were checked (or by hand) still never become paths
    for run in ("../../escaped", "a/b", "/abs/x"):
        store.upsert_run(run, "smoke", {}, "done")
        md, png = write_report(db, run, out)
        assert md.parent == out and png.parent == out and md.is_file() and png.is_file()
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"deep/out/_abs_x.md", "deep/out/_abs_x.png", "deep/out/___escaped.md",
                       "deep/out/___escaped.png", "deep/out/a_b.md", "deep/out/a_b.png", "w.duckdb"}



@pytest.mark.parametrize("direct", [True, False], ids=["direct", "prefect"])
def test_failed_shards_exit_1_with_the_cause_on_the_last_lines(direct, tmp_path):
    db = tmp_path / "w.duckdb"
    with ChatServer(responder=lambda messages: "x") as server:
        server.faults = [(400, {})] * 100  # the server refuses every request: not worth a retry
        args = ["run", "--db", str(db), "--languages", "zh", "--limit", "4", "--shard-size", "2",
                "--llm-backend", "openai", "--base-url", server.base_url, "--llm", "served"]
        env = {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": ""}
        out = eat(*args, *(["--direct"] if direct else []), env=env)
    assert out.returncode == 1, out.stderr[-3000:]
    tail = out.stderr.strip().splitlines()[-2:]
    assert "2 shard(s) failed" in tail[0] and "zh/0, zh/1" in tail[0], tail
    assert tail[1].startswith("  zh/0, zh/1: BackendError: ") and "refused the request (HTTP 400" in tail[1], tail
    store = Store(db)
    assert store.query("SELECT shard_index, status, attempts FROM shards ORDER BY 1") == [
        (0, "failed", 1), (1, "failed", 1)]  # not retried: a refusal is permanent
    status, reason = store.query("SELECT status, status_reason FROM runs")[0]
    assert status == "failed" and "zh/0, zh/1: BackendError" in reason
