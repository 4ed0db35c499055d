"""A real llama.cpp server (``eat serve``, the ``llamacpp`` extra) in a child process, for tests and benchmarks.

``LlamaServer(model, name)`` starts ``python -m eat_cli serve --port 0`` (a free port, which the server names on its
first line), waits until ``GET /health`` answers 200, and stops it on exit; ``kill()`` sends SIGKILL, a server that
dies mid-run. It is a child process so that a test can kill it as a crash kills a server. The ``llama_server``
fixture in ``tests/conftest.py`` is the one shared instance (session-scoped, the tiny Qwen2 as GGUF); tests that must
kill a server or load another adapter start their own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from support.paths import REPO

START_TIMEOUT_S = 180.0  # a cold start on a loaded 2-core machine: Python imports, then model load


class LlamaServer:
    def __init__(self, model: str | Path, name: str, *, loras: tuple[str | Path, ...] = (), parallel: int = 1,
                 threads: int = 1, log: Path | None = None) -> None:
        self.args = [sys.executable, "-m", "eat_cli", "serve", "--model", str(model), "--name", name, "--port", "0",
                     "--parallel", str(parallel), "--threads", str(threads)]
        for lora in loras:
            self.args += ["--lora", str(lora)]
        self.name = name
        self.log = log
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    def start(self) -> LlamaServer:
        stderr = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(self.args, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                        env={**os.environ, "PYTHONPATH": str(REPO)})
        line = self._first_line(START_TIMEOUT_S)
        match = re.search(r"serving \S+ at (http://\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"eat serve did not start: {line!r} (exit {self.process.returncode})")
        self.base_url = match.group(1)
        self._wait_healthy(START_TIMEOUT_S)
        return self

    def _first_line(self, timeout_s: float) -> str:
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        return box[0] if box else ""

    def _wait_healthy(self, timeout_s: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        origin = self.base_url.removesuffix("/v1")
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{origin}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{origin}/health did not answer 200 within {timeout_s:.0f} s")

    @property
    def origin(self) -> str:
        return self.base_url.removesuffix("/v1")

    def metric(self, name: str) -> float:
        """One Prometheus counter of ``GET /metrics`` (``llamacpp:tokens_predicted_total`` ...)."""
        import httpx

        text = httpx.get(f"{self.origin}/metrics", timeout=10).text
        match = re.search(rf"^{re.escape(name)}\s+(\S+)$", text, re.MULTILINE)
        if not match:
            raise KeyError(f"{name} not in /metrics: {text[:300]!r}")
        return float(match.group(1))

    def kill(self) -> None:
        """SIGKILL: the server dies at once, requests in flight get no answer."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process and self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def llamacpp_available() -> bool:
    """Whether the ``llamacpp`` extra is installed (CI installs it with ``dev``)."""
    try:
        import gguf  # noqa: F401
        import xllamacpp  # noqa: F401
    except ImportError:
        return False
    return True
