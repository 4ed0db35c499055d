"""The command-line contract: user errors are one line and exit 2 before any model loads; failed runs exit 1 naming
each failed shard with its cause; cached answers equal fresh ones in every stored column; no path escapes ``--out``;
runs that stop early are marked so."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chat_server import ChatServer
from support.cli import assert_user_error, run_cli, run_cli_process
from support.paths import REPO

from eat_core.config.coerce import parse_languages
from eat_core.config.run import get_profile
from eat_core.data.limits import InputLimits, apply_limits
from eat_core.errors import ConfigError, DataError
from eat_core.evaluation.checks import validate_request
from eat_core.store import Store
from eat_core.types import Sentence


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory) -> dict:
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
    (["--languages", "xx"], ["--languages", "'xx'", "ISO 639"]),
    (["--languages", "zhh"], ["--languages", "did you mean 'zh' (Chinese)?"]),
    (["--languages", "swahili"], ["--languages", "did you mean 'sw' (Swahili)?"]),
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
def test_every_bad_run_option_is_one_line_and_exit_2(args, needles, tmp_path):
    db = tmp_path / "x.duckdb"
    assert_user_error(run_cli("run", "--direct", "--db", str(db), *args), *needles)
    assert not db.exists()  # refused before anything was recorded


def test_subcommand_arguments_are_checked(cli_inputs, tmp_path):
    db = str(cli_inputs["db"])
    cases = [
        (["results", "nosuchrun", "--db", db], ["unknown run 'nosuchrun'", "smoke-bbbb, smoke-aaaa"]),
        (["report", "nosuchrun", "--db", db, "--out", str(tmp_path / "r")], ["unknown run 'nosuchrun'",
                                                                           "smoke-aaaa"]),
        (["resume", "nosuchrun", "--db", db], ["unknown run 'nosuchrun'", "smoke-aaaa"]),
        (["results", "--db", str(tmp_path / "none.duckdb")], ["no such DuckDB file"]),
        (["report", "smoke-aaaa", "--db", db, "--out", str(cli_inputs["file"])], ["--out", "is a file"]),
        (["data", "check", str(cli_inputs["data"]), "--languages", "xx"], ["--languages", "'xx'"]),
        (["data", "check", str(tmp_path), "--languages", "zh"], ["no 'dev' split for language 'zh'"]),
        (["train-extractor", "--data", str(tmp_path), "--output", str(tmp_path / "o"), "--kind", "nope"],
         ["--kind"]),
        (["eacl", "harvest", "--languages", "../x", "--user-agent", "t", "--entities", str(cli_inputs["file"]),
          "--db", str(tmp_path / "h.duckdb")], ["--languages", "'../x'"]),
        (["nosuchcommand"], ["No such command"]),
    ]
    for args, needles in cases:
        assert_user_error(run_cli(*args), *needles)
    assert not (tmp_path / "r").exists()


def test_bad_values_on_the_prefect_path_and_an_overlong_token_name_the_option_or_line(cli_inputs, tmp_path):
    db = str(tmp_path / "p.duckdb")
    assert_user_error(run_cli("run", "--db", db, "--rounds", "2"), "--rounds")
    assert_user_error(run_cli("run", "--db", db, "--extractor", "nope"), "--extractor", "available:")
    assert_user_error(run_cli("run", "--db", db, "--languages", "xx"), "--languages")
    path = cli_inputs["data"] / "zh" / "dev.tsv"
    out = run_cli_process("run", "--db", db, "--data", str(cli_inputs["data"]), "--languages", "zh")
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
    from eat_core.evaluation.loop import evaluate
    from eat_core.results.tables import results_rows

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
    before = results_rows(db, "fresh")[1]
    evaluate(cfg, db, run_id="fresh")  # a re-run: every shard comes back from DuckDB; its cost does not move
    after = results_rows(db, "fresh")[1]
    assert [r["cache_hit_rate"] for r in before] == [0.0] and [r["shards_reused"] for r in after] == [2]
    assert [{**r, "shards_reused": 0} for r in after] == before  # the reuse is counted beside the cost
    assert store.query("SELECT sum(reuses) FROM shards WHERE run_id = 'fresh'") == [(2,)]


def test_runs_stopped_by_ctrl_c_or_an_error_are_marked_and_resume(tmp_path, monkeypatch):
    import eat_core.evaluation.loop as ev

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
    from eat_core.results.files import write_report

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
        out = run_cli_process(*args, *(["--direct"] if direct else []), env=env)
    assert out.returncode == 1, out.stderr[-3000:]
    tail = out.stderr.strip().splitlines()[-2:]
    assert "2 shard(s) failed" in tail[0] and "zh/0, zh/1" in tail[0], tail
    assert tail[1].startswith("  zh/0, zh/1: BackendError: ") and "refused the request (HTTP 400" in tail[1], tail
    store = Store(db)
    assert store.query("SELECT shard_index, status, attempts FROM shards ORDER BY 1") == [
        (0, "failed", 1), (1, "failed", 1)]  # not retried: a refusal is permanent
    status, reason = store.query("SELECT status, status_reason FROM runs")[0]
    assert status == "failed" and "zh/0, zh/1: BackendError" in reason


# -- issue 23: --db, --out and --lang checked up front; a full disk; readers during a run ---------------------------


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory nobody may write in. Root writes through mode 555, so as root a read-only tmpfs is mounted."""
    path = tmp_path / "ro"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"running as root and cannot mount a read-only tmpfs: {mounted.stderr.decode().strip()}")
    yield path
    subprocess.run(["umount", str(path)], check=True)


def _bad_db(kind: str, tmp_path: Path, read_only_dir: Path) -> tuple[Path, list[str]]:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    cases = {
        "read-only-dir": (read_only_dir / "x.duckdb", ["--db", "cannot write in", "x.duckdb.wal"]),
        "file-as-dir": (text / "x.duckdb", ["--db", "notes.txt is a file, not a directory"]),
        "text-file": (text, ["--db", "notes.txt is not a DuckDB file (another kind of file)"]),
        "missing-dir": (tmp_path / "missing" / "x.duckdb", ["--db", "missing does not exist; create it first"]),
    }
    return cases[kind]


@pytest.mark.parametrize("kind", ["read-only-dir", "file-as-dir", "text-file", "missing-dir"])
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "prefect"])
def test_an_unwritable_db_is_one_line_exit_2_on_both_paths(kind, direct, tmp_path, read_only_dir):
    db, needles = _bad_db(kind, tmp_path, read_only_dir)
    out = run_cli("run", "--db", str(db), "--languages", "zh", "--limit", "2", *(["--direct"] if direct else []))
    assert_user_error(out, *needles)
    assert not (tmp_path / "missing").exists()


def test_the_prefect_path_refuses_an_unwritable_db_before_its_server_starts(tmp_path, read_only_dir):
    env = {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": ""}
    out = run_cli_process("run", "--db", str(read_only_dir / "x.duckdb"), "--languages", "zh", env=env, timeout=60)
    assert_user_error(out, "--db", "cannot write in")
    assert not (tmp_path / "prefect").exists()  # no Prefect server (nor its database) was ever started


@pytest.mark.parametrize("command", ["tag", "silver", "distill"])
def test_every_command_with_db_checks_it_first(command, tmp_path, read_only_dir):
    corpus = tmp_path / "in.txt"
    corpus.write_text("北京\n", encoding="utf-8")
    args = {"tag": ["tag", str(corpus), "--lang", "zh", "--out", str(tmp_path / "o.jsonl")],
            "silver": ["silver", "--lang", "zh", "--out", str(tmp_path / "s")],
            "distill": ["distill", "--lang", "zh", "--out", str(tmp_path / "d")]}[command]
    for db, needle in [(read_only_dir / "x.duckdb", "cannot write in"),
                       (corpus / "x.duckdb", "in.txt is a file, not a directory")]:
        assert_user_error(run_cli(*args, "--db", str(db)), "--db", needle)


def test_checking_db_never_drops_the_duckdb_lock_this_process_holds(tmp_path):
    """Closing any descriptor of a file drops the process's POSIX locks on it, DuckDB's too: a check that opened
    the file while a flow of this process writes it would let another process in."""
    from eat_core.store.location import check_db

    db = tmp_path / "w.duckdb"
    with Store(db).connect():
        assert check_db(db) == db
        other = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({str(db)!r}, read_only=True)"],
                               capture_output=True, text=True, timeout=60)
    assert other.returncode != 0 and "lock" in other.stderr, other.stderr[-500:]


def test_missing_or_read_only_directories_are_refused_not_created(tmp_path, read_only_dir):
    import uuid

    corpus = tmp_path / "in.txt"
    corpus.write_text("北京\n", encoding="utf-8")
    missing = Path("/") / f"eat-missing-{uuid.uuid4().hex[:8]}"
    cases = [
        (["run", "--direct", "--db", str(missing / "x.duckdb")], f"--db: directory {missing} does not exist"),
        (["run", "--db", str(missing / "x.duckdb")], f"--db: directory {missing} does not exist"),
        (["tag", str(corpus), "--lang", "zh", "--out", str(missing / "o.jsonl"), "--db", str(tmp_path / "w.duckdb")],
         f"--out: directory {missing} does not exist"),
        (["tag", str(corpus), "--lang", "zh", "--out", str(tmp_path / "o.jsonl"), "--db", str(missing / "w.duckdb"),
          "--direct"], f"--db: directory {missing} does not exist"),
        (["tag", str(corpus), "--lang", "zh", "--out", str(read_only_dir / "o.jsonl"), "--db",
          str(tmp_path / "w.duckdb"), "--direct"], f"--out: cannot write in {read_only_dir}"),
    ]
    for args, needle in cases:
        assert_user_error(run_cli(*args), needle)
        assert not missing.exists(), args
    assert not (tmp_path / "w.duckdb").exists()


def test_score_checks_the_language_as_every_command_does(tmp_path):
    gold = tmp_path / "gold.tsv"
    gold.write_text("北\tB-LOC\n京\tI-LOC\n\n", encoding="utf-8")
    for args in (["score", str(gold), str(gold), "--lang", "xx"], ["score", str(gold), str(gold), "--lang", "zh,ja"],
                 ["score", "--db", str(tmp_path / "none.duckdb"), "--lang", "zhh"]):
        assert_user_error(run_cli(*args), "--lang")
    scored = run_cli("score", str(gold), str(gold), "--lang", " ZH", "--format", "json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["token"]["f1"] == 100.0


def test_tag_refuses_a_format_that_contradicts_the_input_name(tmp_path):
    from eat_core.tagging.request import validate_tag_request

    corpus = tmp_path / "news.jsonl"
    corpus.write_text('{"id": "s1", "text": "普京访问了巴黎。"}\n', encoding="utf-8")
    out = tmp_path / "f.jsonl"
    refused = run_cli("tag", str(corpus), "--lang", "zh", "--format", "conll", "--out", str(out), "--direct",
                      "--db", str(tmp_path / "w.duckdb"))
    assert_user_error(refused, "--format conll: INPUT", "is named as jsonl", "f.jsonl is written as jsonl")
    assert not out.exists() and not (tmp_path / "w.duckdb").exists()
    columns = tmp_path / "wikiann.txt"  # .txt is generic: CoNLL files are often named so
    columns.write_text("北\n京\n", encoding="utf-8")
    req, _ = validate_tag_request({"input": str(columns), "lang": "zh", "out": str(out), "format": "conll",
                                   "db": str(tmp_path / "w.duckdb")})
    assert req.format == "conll"


def _can_mount_tmpfs(tmp_path: Path) -> str | None:
    """None if a size-limited tmpfs can be mounted here, else why not."""
    if os.geteuid() != 0:
        return "a full disk needs a small tmpfs, and mounting one needs root"
    probe = tmp_path / "probe"
    probe.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe)], capture_output=True)
    if done.returncode != 0:
        return f"cannot mount a tmpfs: {done.stderr.decode().strip()}"
    subprocess.run(["umount", str(probe)], check=True)
    return None


@pytest.mark.parametrize("slack", [0, 64 << 10], ids=["full", "64k-left"])
def test_a_full_disk_mid_run_is_one_line_exit_1_keeps_finished_shards_and_resumes(slack, tmp_path):
    """The workspace lives on an 8 MiB tmpfs; once shard 0 is done, a filler takes all but ``slack`` bytes. With
    nothing left even the run's failed mark cannot be written (the line says so); with 64 KiB it can."""
    why = _can_mount_tmpfs(tmp_path)
    if why:
        pytest.skip(why)
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    try:
        db = disk / "w.duckdb"
        args = [sys.executable, "-m", "eat_cli", "run", "--direct", "--db", str(db), "--languages", "zh",
                "--limit", "8", "--shard-size", "2"]
        proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines, filled = [], False
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if not filled and line.startswith("[1/4] zh shard 0 done"):
                filler = disk / "filler"
                with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
                    while True:  # until ENOSPC: the disk is full
                        handle.write(b"\0" * (64 << 10))
                if slack:
                    os.truncate(filler, filler.stat().st_size - slack)
                filled = True
        proc.wait(timeout=120)
        errors = [line for line in lines if line.startswith("error:")]
        assert filled and proc.returncode == 1, lines
        assert "Traceback" not in "\n".join(lines) and "cannot rollback" not in "\n".join(lines), lines
        assert len(errors) == 1 and errors[0] == lines[-1], lines
        error = errors[0]
        assert "no space left on device: could not write " + str(db) in error, error  # the file or its .wal
        assert "its 1 finished shard(s) are kept" in error and "re-run the same command to resume" in error, error
        status = Store(db).query("SELECT status FROM runs")[0][0]
        if "and it is marked failed" in error:
            assert status == "failed"
        else:
            assert "could not be marked failed (the disk is full), but a re-run resumes it anyway" in error, error
            assert status == "running"
        assert ("is marked failed" in error) == (slack > 0)  # as measured: 64 KiB is enough for the mark
        (disk / "filler").unlink()
        again = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "1 already done, 3 to compute" in again.stderr, again.stderr
        assert Store(db).query("SELECT shard_index, status, attempts FROM shards ORDER BY 1")[0] == (0, "done", 1)
        assert Store(db).query("SELECT status FROM runs") == [("done",)]
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


READER = """
import json, sys, time
from pathlib import Path
import duckdb
from eat_core.store import read_only
db, stop = Path(sys.argv[1]), Path(sys.argv[2])
counts = {"reads": 0, "failures": [], "running": 0, "plain_tries": 0, "plain_locked": 0}
while not db.exists() and not stop.exists():
    time.sleep(0.01)
while not stop.exists():
    try:
        with read_only(db, timeout_s=60) as con:  # the documented way
            rows = con.execute("SELECT status FROM runs").fetchall()
        counts["reads"] += 1
        counts["running"] += rows == [("running",)]
    except Exception as exc:
        counts["failures"].append(f"{type(exc).__name__}: {exc}"[:300])
    counts["plain_tries"] += 1
    try:  # what the README used to promise, for comparison only
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.Error:
        counts["plain_locked"] += 1
    time.sleep(0.02)
print(json.dumps(counts))
"""


def test_a_reader_in_another_process_never_fails_during_a_run(tmp_path):
    db, stop = tmp_path / "w.duckdb", tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        run = run_cli_process("run", "--direct", "--db", str(db), "--languages", "zh", "--limit", "8",
                              "--shard-size", "2")
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert reader.returncode == 0, err[-2000:]
    counts = json.loads(out)
    assert counts["failures"] == [], counts
    assert counts["running"] >= 20, counts  # the reads overlapped the run's writes
