"""``scripts/screenshots.py`` against a real Prefect server: user errors are one line, and the pages it saves show
the flow run and its artifact.

The screenshots themselves need Debian's ``chromium`` and the ``screenshots`` extra (Playwright); without them that
test skips with the reason, and the error paths, which need neither, still run.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.paths import REPO

SCRIPT = REPO / "scripts" / "screenshots.py"
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("EAT_CHROMIUM", "/usr/bin/chromium")

# One flow run with a markdown artifact created in a task, as eat's results artifact is.
FLOW = '''
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

@task
def publish():
    create_markdown_artifact("# Screenshot check\\n\\n| lang | F1 |\\n|---|---|\\n| zh | 12.5 |",
                             key="screenshot-check")

@flow(name="screenshot-check", flow_run_name="screenshot-check-run")
def check():
    publish()

check()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env or dict(os.environ), cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def assert_one_line_error(out: subprocess.CompletedProcess, *needles: str) -> None:
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_no_server_configured_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    assert_one_line_error(run_script("--out", str(tmp_path), env=env), "--api-url", "PREFECT_API_URL")


def test_an_unreachable_server_is_one_line(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/api"
    assert_one_line_error(run_script("--api-url", url, "--out", str(tmp_path)), "unreachable", url)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Prefect server (its UI reading the same port) holding one finished flow run with an artifact."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    # The port as a setting, not --port: the flag does not reach the UI, which would then read port 4200.
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_API_URL=api, PREFECT_SERVER_API_HOST="127.0.0.1",
               PREFECT_SERVER_API_PORT=str(port), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log = open(home / "server.log", "w")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen([str(BIN / "prefect"), "server", "start"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("Prefect server did not start: " + (home / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        flow_file = home / "check_flow.py"
        flow_file.write_text(FLOW)
        subprocess.run([sys.executable, str(flow_file)], env=env, check=True, capture_output=True, timeout=180)
        yield env
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()


@pytest.mark.slow
def test_a_missing_browser_says_how_to_install_it(server, tmp_path):
    out = run_script("--chromium", str(tmp_path / "no-chromium"), "--out", str(tmp_path), env=server)
    assert_one_line_error(out, "apt-get install chromium")


@pytest.mark.slow
def test_an_unknown_flow_run_is_one_line(server, tmp_path):
    out = run_script("--flow-run", "no-such-run", "--out", str(tmp_path), env=server)
    assert_one_line_error(out, "no-such-run")


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(),
                    reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
@pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                    reason="needs the screenshots extra: pip install -e '.[screenshots]'")
def test_the_pages_show_the_flow_run_and_its_artifact(server, tmp_path):
    from PIL import Image

    out = run_script("--flow-run", "screenshot-check-run", "--out", str(tmp_path), env=server)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = {line.split(":", 1)[0]: line for line in out.stdout.splitlines()}
    for page, text in [("runs", "screenshot-check-run"), ("flow-run", "screenshot-check-run"),
                       ("flow-run-artifacts", "screenshot-check"), ("artifact-screenshot-check", "screenshot-check")]:
        assert f"shows {text!r}" in lines[page], out.stdout  # the page rendered the run's name or artifact key
    pngs = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in pngs] == ["01-runs.png", "02-flow-run.png", "03-flow-run-artifacts.png",
                                      "04-flow-run-parameters.png", "05-artifact-screenshot-check.png"]
    for png in pngs:
        with Image.open(png) as image:
            assert image.width == 1440 and image.height >= 900
            assert len(image.convert("RGB").getcolors(maxcolors=1 << 20)) > 50, f"{png.name} is nearly blank"
