"""Harvest EACL raw pairs from Wikipedia interlanguage links with ``wikipedia-api`` (EAT §3.2).

For each English entity: its English page (redirects followed), whether it is a disambiguation page, its
interlanguage links for the requested languages; then for each linked page its title u and summary. Every page
is stored in DuckDB as soon as it is fetched (with fetch time and revision), so a crash loses nothing and a
refresh fetches only pages that are missing, failed, or older than ``max_age_days``.

Politeness: a configurable user agent, at most ``rate_per_s`` requests per second (every attempt counts), retries
with exponential backoff honouring Retry-After on 429/5xx/timeouts (wikipedia-api's own ``max_retries`` and
``retry_wait``), and a bound on total time. Missing pages, missing links and disambiguation pages are recorded as
such and not retried until they age out.

The HTTP layer is injectable: ``transport=`` is forwarded to httpx (wikipedia-api 0.16 passes it through), and
``endpoint=`` rewrites ``https://<lang>.wikipedia.org/w/api.php`` to ``<endpoint>/<lang>/w/api.php`` for any
MediaWiki-compatible server (a mirror, or the test server on 127.0.0.1).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from eat_core.data.eacl_files import EaclPair
from eat_core.errors import ConfigError
from eat_core.store import Store

log = logging.getLogger(__name__)
DISAMBIGUATION_CATEGORIES = ("disambiguation pages", "all disambiguation pages", "all article disambiguation pages")


class ThrottledTransport(httpx.BaseTransport):
    """At most ``rate_per_s`` requests per second through ``inner``; optionally rewrites the host to ``endpoint``."""

    def __init__(self, rate_per_s: float, endpoint: str | None = None, inner: httpx.BaseTransport | None = None):
        self.interval = 1.0 / rate_per_s if rate_per_s > 0 else 0.0
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.inner = inner or httpx.HTTPTransport()
        self._next = 0.0
        self._lock = threading.Lock()
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
            self.requests += 1
        if wait > 0:
            time.sleep(wait)
        if self.endpoint and request.url.host.endswith(".wikipedia.org"):
            lang = request.url.host.split(".")[0]
            base = httpx.URL(f"{self.endpoint}/{lang}{request.url.path}")
            request.url = base.copy_with(query=request.url.query)
            request.headers["host"] = request.url.netloc.decode()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class HarvestReport:
    entities: int = 0
    fetched_pages: int = 0
    reused_pages: int = 0
    statuses: Counter = field(default_factory=Counter)
    stopped_early: str | None = None
    seconds: float = 0.0
    requests: int = 0


_CONTACT = re.compile(r"[^\s@()]+@[^\s@()]+\.[^\s@()]+|https?://\S+")


def check_user_agent(user_agent: str | None, option: str = "user_agent") -> str:
    """Wikimedia's User-Agent policy asks every client for a way to reach its operator: an e-mail address or a URL.
    A scheduled harvest that sends the placeholder would be blocked, and would deserve it."""
    if not user_agent or "set a contact address" in user_agent or not _CONTACT.search(user_agent):
        raise ConfigError(f"{option}: {user_agent!r} gives no contact; Wikimedia's policy requires one (an e-mail "
                          "address or URL), e.g. 'eat-ner/0.1 (you@example.org)': set the eacl/refresh deployment's "
                          "user_agent parameter (prefect.yaml) or `eat eacl harvest --user-agent`")
    return user_agent


class Harvester:
    def __init__(self, store: Store, languages: Sequence[str], *, user_agent: str, rate_per_s: float = 5.0,
                 max_retries: int = 3, retry_wait: float = 1.0, timeout_s: float = 10.0,
                 max_age_days: float = 30.0, max_seconds: float | None = None, endpoint: str | None = None,
                 transport: httpx.BaseTransport | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        import wikipediaapi

        check_user_agent(user_agent)
        self.store = store
        self.languages = list(languages)
        self.max_age = timedelta(days=max_age_days)
        self.max_seconds = max_seconds
        self.progress = progress or log.info
        self.transport = ThrottledTransport(rate_per_s, endpoint, transport)
        self.wikis = {
            lang: wikipediaapi.Wikipedia(user_agent, language=lang, extract_format=wikipediaapi.ExtractFormat.WIKI,
                                         max_retries=max_retries, retry_wait=retry_wait, timeout=timeout_s,
                                         transport=self.transport)
            for lang in ["en", *self.languages]
        }

    # -- storage -------------------------------------------------------------------------------------------------

    def _stored(self, lang: str, title: str) -> dict | None:
        page = self.store.eacl_page(lang, title)
        if page is None:
            return None
        fetched_at = page.pop("fetched_at")
        fresh = page["status"] != "error" and datetime.now(UTC).replace(tzinfo=None) - fetched_at < self.max_age
        return page if fresh else None

    def _save(self, lang: str, title: str, record: dict) -> None:
        self.store.put_eacl_page(lang, title, record, datetime.now(UTC).replace(tzinfo=None))

    # -- fetching ------------------------------------------------------------------------------------------------

    def _fetch(self, lang: str, title: str, *, english: bool) -> dict:
        from wikipediaapi.exceptions import WikipediaException

        page = self.wikis[lang].page(title)
        try:
            if not page.exists():
                return {"status": "missing"}
            record = {"status": "ok", "pageid": page.pageid, "revision": getattr(page, "lastrevid", None),
                      "resolved_title": page.title}
            if english:
                categories = " ".join(page.categories).lower()
                if any(c in categories for c in DISAMBIGUATION_CATEGORIES):
                    record["status"] = "disambiguation"
                    return record
                links = page.langlinks
                record["langlinks"] = {lang_: links[lang_].title for lang_ in self.languages if lang_ in links}
                if not record["langlinks"]:
                    record["status"] = "no_links"
            else:
                record["summary"] = page.summary
                if not record["summary"].strip():
                    record["status"] = "empty_summary"
            return record
        except WikipediaException as exc:
            return {"status": "error", "summary": f"{exc.__class__.__name__}: {exc}"[:500]}
        except (httpx.HTTPError, ValueError, KeyError) as exc:  # malformed responses surface as these
            return {"status": "error", "summary": f"{exc.__class__.__name__}: {exc}"[:500]}

    def _page(self, lang: str, title: str, report: HarvestReport, *, english: bool) -> dict:
        stored = self._stored(lang, title)
        if stored is not None:
            report.reused_pages += 1
            return stored
        record = self._fetch(lang, title, english=english)
        report.fetched_pages += 1
        self._save(lang, title, record)
        return record

    def harvest(self, entities: Sequence[str]) -> HarvestReport:
        report = HarvestReport()
        t0 = time.monotonic()
        requests_before = self.transport.requests
        for n, entity in enumerate(dict.fromkeys(e.strip() for e in entities if e.strip()), start=1):
            if self.max_seconds is not None and time.monotonic() - t0 > self.max_seconds:
                report.stopped_early = f"time budget of {self.max_seconds:.0f} s spent after {n - 1} entities"
                break
            report.entities += 1
            en = self._page("en", entity, report, english=True)
            report.statuses[f"en:{en['status']}"] += 1
            for lang, target in (en.get("langlinks") or {}).items():
                page = self._page(lang, target, report, english=False)
                report.statuses[f"{lang}:{page['status']}"] += 1
            if n % 50 == 0:
                self.progress(f"{n} entities, {report.fetched_pages} pages fetched, {report.reused_pages} reused, "
                              f"{time.monotonic() - t0:.0f} s")
        report.seconds = time.monotonic() - t0
        report.requests = self.transport.requests - requests_before
        return report


def harvested_pairs(store: Store, languages: Sequence[str]):
    """Raw (English entity, target title, target summary) pairs from stored pages, as ``EaclPair``."""
    targets, english = store.eacl_found_pages()
    pairs = []
    for entity, links in english:
        for lang, title in sorted(links.items()):
            if lang in languages and (lang, title) in targets:
                resolved, summary = targets[(lang, title)]
                pairs.append(EaclPair(lang, entity, resolved or title, summary or ""))
    return pairs
