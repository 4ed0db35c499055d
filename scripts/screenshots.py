"""Screenshot the Prefect UI pages a user reads: the runs list, one flow run, its artifacts, its parameter form.

Why: run names, artifacts and the parameter form are read in Prefect's web UI, which tests of the API do not see.
Whoever changes one can look at the result from a terminal, on a machine without a desktop:

    pip install -e '.[screenshots]'          # Playwright (the Python driver only; no browser download)
    apt-get install chromium                 # the browser it drives, Debian's package, headless
    python scripts/screenshots.py --out screenshots        # the latest started flow run on $PREFECT_API_URL
    python scripts/screenshots.py --flow-run full-eval-smoke --api-url http://127.0.0.1:4200/api

The UI is the one ``prefect server start`` serves at the API's host without ``/api``. One PNG per page, named
``NN-page.png``; each line printed says which page, the file, and whether the page showed the text it was waited
for (the run's name, an artifact's key), so a blank or half-loaded page does not pass unnoticed. User errors (no
server, no browser, unknown run) are one line and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# As root on a closed network Chromium hangs without these: no sandbox (root), no GPU, and nothing that phones home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

MAX_HEIGHT = 6000  # pixels: a long log or table is cut here rather than making an unreadable strip
# The UI scrolls inside panels, not the document, so a full-page screenshot alone stops at the window's height:
# measure the tallest scrolling panel and grow the window to fit it.
CONTENT_HEIGHT_JS = """() => Math.ceil(Math.max(document.documentElement.scrollHeight, ...Array.from(
  document.querySelectorAll('*'), e => /(auto|scroll)/.test(getComputedStyle(e).overflowY)
    ? e.scrollHeight + e.getBoundingClientRect().top : 0)))"""


class UserError(Exception):
    """A mistake the user can fix; printed as one line, exit code 2."""


@dataclass(frozen=True)
class Page:
    """One screenshot: the file stem, the UI path to open, the text whose presence says the page has loaded, and
    the tab to click first (Prefect's newer UI also takes it from ``?tab=``; the older one only from a click)."""

    name: str
    path: str
    expect: str
    tab: str | None = None


def ui_url(api_url: str) -> str:
    """The UI's base URL: ``prefect server start`` serves it at the API's host, without the ``/api`` suffix."""
    return re.sub(r"/api/?$", "", api_url.rstrip("/"))


def ui_settings(base_url: str) -> dict:
    """The server's ``/ui-settings``: which UI opens at ``/``, where each lives, and the API URL the browser uses."""
    try:
        settings = httpx.get(f"{base_url}/ui-settings", timeout=15).json()
    except (httpx.HTTPError, ValueError):
        return {}  # an older server without UI settings: its one UI sits at / and reads the API beside it
    return settings if isinstance(settings, dict) else {}


def ui_prefix(settings: dict, choice: str) -> str:
    """The base path of the chosen UI; ``default`` is the one the server opens at ``/`` (the newer one, ``/v2``)."""
    if choice == "default":
        choice = settings.get("default_ui", "v1")
    return "" if choice == "v1" else settings.get(f"{choice}_base_url", f"/{choice}").rstrip("/")


def check_ui_api(settings: dict, base_url: str, api_url: str, flow_run_id: str) -> None:
    """Refuse when the API the UI reads cannot show this flow run (unreachable, or another server's).

    The browser fetches its data from the API URL in ``/ui-settings``, not from ``--api-url``: a server started with
    ``prefect server start --port N`` still points its UI at port 4200 (the setting ``PREFECT_SERVER_API_PORT``
    reaches the UI, the flag does not). Screenshots of that UI would show an error toast, or another server's runs.
    """
    ui_api = (settings.get("api_url") or api_url).rstrip("/")
    try:
        found = httpx.get(f"{ui_api}/flow_runs/{flow_run_id}", timeout=15).status_code == 200
    except httpx.HTTPError:
        found = False
    if not found:
        raise UserError(f"the UI at {base_url} reads its data from {ui_api}, which does not have this flow run: "
                        f"start the server with PREFECT_SERVER_API_PORT=PORT (not --port) or set "
                        f"PREFECT_UI_API_URL={api_url}")


class Api:
    """The few Prefect REST calls this script needs, each turned into one line when the server cannot answer."""

    def __init__(self, api_url: str, timeout_s: float = 15.0):
        self.url = api_url.rstrip("/")
        self.client = httpx.Client(timeout=timeout_s)

    def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self.client.request(method, f"{self.url}{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise UserError(f"Prefect server unreachable at {self.url} ({type(exc).__name__}): start "
                            "`prefect server start` or pass --api-url http://HOST:PORT/api") from None

    def check(self) -> None:
        response = self._call("GET", "/health")
        if response.status_code != 200:
            raise UserError(f"{self.url}/health answered HTTP {response.status_code}: is --api-url a Prefect API "
                            "(it ends in /api)?")

    def flow_run(self, ref: str | None) -> dict:
        """The flow run named by ``ref`` (an id or a name; the most recent of that name), or the latest started."""
        if ref and _is_uuid(ref):
            response = self._call("GET", f"/flow_runs/{ref}")
            if response.status_code == 404:
                raise UserError(f"--flow-run: no flow run with id {ref} on {self.url}")
            response.raise_for_status()
            return response.json()
        # Scheduled runs (the weekly refresh) have no start time yet and would sort first by expected start.
        flow_runs: dict = {"start_time": {"is_null_": False}}
        if ref:
            flow_runs = {"name": {"any_": [ref]}}
        response = self._call("POST", "/flow_runs/filter",
                              json={"flow_runs": flow_runs, "sort": "START_TIME_DESC", "limit": 1})
        response.raise_for_status()
        runs = response.json()
        if not runs:
            raise UserError(f"--flow-run: no flow run named {ref!r} on {self.url}" if ref else
                            f"no started flow run on {self.url} yet: run a deployment first "
                            "(`prefect deployment run eat/full-eval ...`)")
        return runs[0]

    def artifacts(self, flow_run_id: str) -> list[dict]:
        """Every artifact of the flow run, those its task runs created included (they carry its id too)."""
        response = self._call("POST", "/artifacts/filter",
                              json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}, "sort": "CREATED_DESC"})
        response.raise_for_status()
        return response.json()[::-1]  # oldest first, as the run made them


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def pages_for(run: dict, artifacts: list[dict], prefix: str) -> list[Page]:
    """The runs list, the flow run (logs, artifacts, parameters), each artifact, and its deployment's run form.

    ``prefix`` is the UI's base path: ``""`` for Prefect's first UI, ``"/v2"`` for the one the server opens by default.
    """
    run_path = f"{prefix}/runs/flow-run/{run['id']}"
    keys = [a.get("key") or a["id"][:8] for a in artifacts]
    pages = [Page("runs", f"{prefix}/runs", run["name"]), Page("flow-run", run_path, run["name"]),
             Page("flow-run-artifacts", f"{run_path}?tab=Artifacts", keys[0] if keys else "Artifacts", "Artifacts"),
             Page("flow-run-parameters", f"{run_path}?tab=Parameters", "request", "Parameters")]
    for key, artifact in zip(keys, artifacts, strict=True):
        pages.append(Page(f"artifact-{key}", f"{prefix}/artifacts/artifact/{artifact['id']}", key))
    if run.get("deployment_id"):
        pages.append(Page("custom-run-form", f"{prefix}/deployments/deployment/{run['deployment_id']}/run",
                          "Parameters"))
    return pages


def find_chromium(path: str) -> str:
    if Path(path).is_file() and os.access(path, os.X_OK):
        return path
    raise UserError(f"chromium not found at {path}: `apt-get install chromium` (Debian/Ubuntu), "
                    "or pass --chromium PATH")


def shoot(pages: list[Page], base_url: str, out: Path, chromium: str, width: int, height: int,
          timeout_s: float) -> list[str]:
    """Open each page in headless Chromium and save a full-page PNG; returns one report line per page."""
    try:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UserError("playwright is not installed: pip install -e '.[screenshots]'") from None
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    with tempfile.TemporaryDirectory(prefix="screenshots-chromium-") as profile, sync_playwright() as pw:
        # A fresh profile each time: a reused one carries state (and locks) from an earlier, possibly hung, browser.
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        context.set_default_timeout(timeout_s * 1000)
        page = context.new_page()
        for number, spec in enumerate(pages, 1):
            page.goto(base_url + spec.path, wait_until="load")
            if spec.tab:
                _open_tab(page, spec.tab, PlaywrightTimeout)
            try:
                page.get_by_text(spec.expect, exact=False).first.wait_for(state="visible")
                seen = "shows"
            except PlaywrightTimeout:
                seen = "DOES NOT show"
            # The UI keeps polling the API, so the network is never idle for long: wait briefly, then shoot.
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_load_state("networkidle", timeout=5000)
            page.wait_for_timeout(1000)  # charts and markdown render after their data arrives
            page.set_viewport_size({"width": width, "height": max(height, min(page.evaluate(CONTENT_HEIGHT_JS),
                                                                                MAX_HEIGHT))})
            page.wait_for_timeout(500)
            file = out / f"{number:02d}-{_slug(spec.name)}.png"
            page.screenshot(path=str(file), full_page=True)
            page.set_viewport_size({"width": width, "height": height})
            lines.append(f"{spec.name}: {file} ({base_url}{spec.path}) {seen} {spec.expect!r}")
        context.close()
    return lines


def _open_tab(page, name: str, timeout_error: type[Exception]) -> None:
    """Click the tab called ``name`` once it is drawn; a missing tab leaves the page as it is (the report says so)."""
    tab = page.get_by_role("tab", name=name, exact=True)
    with contextlib.suppress(timeout_error):
        tab.first.wait_for(state="visible", timeout=10_000)
    if not tab.count():
        tab = page.get_by_text(name, exact=True)
    with contextlib.suppress(timeout_error):
        tab.first.click(timeout=5_000)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", default=os.environ.get("PREFECT_API_URL"),
                        help="the Prefect API, e.g. http://127.0.0.1:4200/api (default: $PREFECT_API_URL)")
    parser.add_argument("--flow-run", help="flow run id or name (default: the latest started flow run)")
    parser.add_argument("--out", type=Path, default=Path("screenshots"),
                        help="directory for the PNGs (default: screenshots, ignored by git)")
    parser.add_argument("--chromium", default=os.environ.get("EAT_CHROMIUM", DEFAULT_CHROMIUM),
                        help=f"Chromium executable (default: $EAT_CHROMIUM or {DEFAULT_CHROMIUM})")
    parser.add_argument("--ui", choices=["default", "v1", "v2"], default="default",
                        help="which Prefect UI (default: the one the server opens at /)")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--timeout-s", type=float, default=30.0, help="per page, for the page and its text")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if not args.api_url:
            raise UserError("no Prefect server: pass --api-url http://HOST:PORT/api or set PREFECT_API_URL "
                            "(the temporary server of `eat run` is gone once the run ends)")
        api = Api(args.api_url)
        api.check()
        run = api.flow_run(args.flow_run)
        chromium = find_chromium(shutil.which(args.chromium) or args.chromium)
        base_url = ui_url(args.api_url)
        settings = ui_settings(base_url)
        check_ui_api(settings, base_url, api.url, run["id"])
        pages = pages_for(run, api.artifacts(run["id"]), ui_prefix(settings, args.ui))
        print(f"flow run {run['name']} ({run['id']}), {run['state_name']}")
        for line in shoot(pages, base_url, args.out, chromium, args.width, args.height, args.timeout_s):
            print(line)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
