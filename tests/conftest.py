"""Shared fixtures. Nothing here may reach the network: the hub is off for every test.

Real data: the full benchmark files at ``../shared/data`` (or ``$EAT_SHARED_DATA``) when present, otherwise the small
real-data fixture committed under ``tests/data`` (its README gives provenance, licence and checksums). ``WIKIANN``
and ``EACL`` point at whichever is in use, so the engine, metric-oracle and alignment tests run on any clone. The few
tests that need the complete files use ``needs_full_data("why")``, which names the reason in the skip message.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from eat_cli.prefect_server import set_prefect_defaults  # noqa: E402

set_prefect_defaults()  # as `eat run`: flows run in this process give a temporary server 120 s to start

# the paths live in support.paths (one definition for tests, benchmarks and this file); re-exported for the tests
# that still write ``from conftest import REPO``
from support.paths import (  # noqa: E402, F401
    DATA,
    EACL,
    FIXTURE_DATA,
    FULL_EACL,
    FULL_WIKIANN,
    HAVE_FULL_DATA,
    REPO,
    SHARED_DATA,
    WIKIANN,
)


def needs_full_data(why: str) -> pytest.MarkDecorator:
    """Run only where the full benchmark files are (CI has them); ``why`` says what the fixture cannot provide.

    On a clone without them such tests are *deselected*, not skipped, and the end of the run lists each with its
    reason: ``pytest -q`` on any clone then skips nothing but ``gpu`` tests, and says what it left out and why.
    """
    return pytest.mark.full_data(reason=why)


_LEFT_OUT: list[tuple[str, str]] = []


def pytest_collection_modifyitems(config, items):
    if HAVE_FULL_DATA:
        return
    kept, left = [], []
    for item in items:
        mark = item.get_closest_marker("full_data")
        (left if mark else kept).append(item)
        if mark:
            _LEFT_OUT.append((item.nodeid, mark.kwargs.get("reason", "")))
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    if _LEFT_OUT:
        terminalreporter.write_line(f"{len(_LEFT_OUT)} test(s) need the full benchmark files at {SHARED_DATA} "
                                    "(present in CI) and were deselected here:")
        for reason in sorted({r for _, r in _LEFT_OUT}):
            names = [n for n, r in _LEFT_OUT if r == reason]
            terminalreporter.write_line(f"  {len(names)} x {reason}")


def pytest_sessionfinish(session, exitstatus):
    """Finish Prefect's work while pytest's streams are open. Otherwise, at interpreter exit, Prefect's atexit stop of
    a temporary server (``SubprocessASGIServer.stop``) logs "Stopping temporary server" through its console handler,
    which still holds pytest's captured stream, closed by then: a ``--- Logging error ---`` report after the summary.
    Drain the event and log workers first (they send to that server), then stop it, quietly."""
    if "prefect" not in sys.modules:
        return
    from eat_cli.prefect_server import stop_all_servers

    stop_all_servers()




@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_qwen(tiny_root) -> Path:
    from eat_core.weights.tiny import build_tiny_qwen2

    return build_tiny_qwen2(tiny_root)


@pytest.fixture(scope="session")
def tiny_t5(tiny_root) -> Path:
    from eat_core.weights.tiny import build_tiny_t5

    return build_tiny_t5(tiny_root)


@pytest.fixture(scope="session")
def tiny_token_classifier(tiny_root) -> Path:
    from eat_core.weights.tiny import build_tiny_token_classifier

    return build_tiny_token_classifier(tiny_root)


@pytest.fixture(scope="session")
def tiny_gguf(tiny_qwen, tiny_root) -> Path:
    """The tiny Qwen2 as an F32 GGUF file (``eat_core.weights.gguf``); skips where the llamacpp extra is missing."""
    from support.llama_server import llamacpp_available

    if not llamacpp_available():
        pytest.skip("needs the llamacpp extra (pip install -e '.[llamacpp]'; dev includes it)")
    from eat_core.weights.gguf import convert_qwen2_to_gguf

    return convert_qwen2_to_gguf(tiny_qwen, tiny_root / "tiny-qwen2.gguf", name="tiny")


@pytest.fixture(scope="session")
def llama_server(tiny_gguf, tmp_path_factory):
    """One real llama.cpp server (``eat serve``) serving the tiny Qwen2 as ``tiny`` on 127.0.0.1, a free port; for
    the whole session. Its log goes to a temp file."""
    from support.llama_server import LlamaServer

    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with LlamaServer(tiny_gguf, "tiny", log=log) as server:
        yield server


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Builds of ``tiny:*`` models go to a per-session temp dir, never the user's cache."""
    monkeypatch.setenv("EAT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "eat-cache"))


@pytest.fixture(scope="module")
def prefect_harness(tmp_path_factory):
    """A temporary Prefect server per test module that asks for it (the flow path of `eat run`), with its home and
    result storage in a temp dir."""
    from prefect.settings import (
        PREFECT_HOME,
        PREFECT_RESULTS_LOCAL_STORAGE_PATH,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect-home")
    with temporary_settings({PREFECT_HOME: home, PREFECT_RESULTS_LOCAL_STORAGE_PATH: home / "results",
                             PREFECT_SERVER_ANALYTICS_ENABLED: False}), \
            prefect_test_harness(server_startup_timeout=120):
        yield
