"""Several OpenAI-compatible endpoints serving the same model: least outstanding requests, failover, health checks.

``llm.base_url`` holds one URL or a comma-separated list (one ``vllm serve`` per GPU or per node). The pool hands
each request to the healthy endpoint with the fewest requests in flight (ties go round robin), takes an endpoint out
when it fails, and puts it back once ``GET <base>/models`` answers 200. The pool only keeps the books; the HTTP
calls, retries and probes are made by :class:`~eat_core.llm.openai_backend.OpenAIBackend`. It is shared by every
thread of a process (shards submitted concurrently), so its state sits behind one lock and no call blocks.

Contract, by example::

    pool = EndpointPool(parse_base_urls("http://gpu1:8000/v1, http://gpu2:8000/v1/"))
    ep = pool.acquire()                      # Endpoint("http://gpu1:8000/v1"), now 1 request in flight
    pool.release(ep, ok=False)
    pool.mark_down(ep, "ConnectError")       # out; probed again after probe_backoff_s, then with doubling backoff
    pool.acquire(avoid=ep)                   # Endpoint("http://gpu2:8000/v1")
    pool.due_probes()                        # [Endpoint("http://gpu1:8000/v1")] once its probe time has come
    pool.probe_done(ep, healthy=True)        # back in

A pool of one endpoint never takes it out: there is nowhere to fail over to, so the request's own retries (with
backoff) are the health check, exactly as with a single ``--base-url`` before pools existed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)


def parse_base_urls(value: str | Sequence[str] | None) -> list[str]:
    """``" http://a/v1/, http://b/v1 ,http://a/v1"`` -> ``["http://a/v1", "http://b/v1"]``.

    Blanks around commas and trailing slashes are dropped, duplicates collapsed (first one kept); order is kept.
    """
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else [part for v in value for part in str(v).split(",")]
    return list(dict.fromkeys(item.strip().rstrip("/") for item in items if item.strip().rstrip("/")))


@dataclass(eq=False)
class Endpoint:
    """One base URL and its books. ``failures`` counts failed requests since its last answer."""

    url: str
    outstanding: int = 0
    answered: int = 0
    failures: int = 0
    down: bool = False
    last_error: str = ""
    probe_wait_s: float = 0.0
    next_probe_at: float = 0.0
    probing: bool = False

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r})"


class EndpointPool:
    """Least outstanding requests over the healthy endpoints; down ones are probed with exponential backoff."""

    def __init__(self, urls: Sequence[str], *, probe_backoff_s: float = 0.5, max_probe_backoff_s: float = 30.0,
                 clock=time.monotonic) -> None:
        if not urls:
            raise ValueError("an endpoint pool needs at least one URL")
        self.endpoints = [Endpoint(url) for url in urls]
        self.probe_backoff_s = probe_backoff_s
        self.max_probe_backoff_s = max_probe_backoff_s
        self.clock = clock
        self._lock = threading.Lock()
        self._cursor = 0  # round robin among endpoints tied on load

    def __len__(self) -> int:
        return len(self.endpoints)

    @property
    def urls(self) -> list[str]:
        return [e.url for e in self.endpoints]

    def acquire(self, avoid: Endpoint | None = None) -> Endpoint | None:
        """The healthy endpoint with the fewest requests in flight, counted as one more; None if every one is out.

        ``avoid`` (the endpoint a request just failed on) is skipped while another healthy endpoint exists.
        """
        with self._lock:
            n = len(self.endpoints)
            order = [self.endpoints[(self._cursor + k) % n] for k in range(n)]
            healthy = [e for e in order if not e.down]
            if avoid is not None and len(healthy) > 1:
                healthy = [e for e in healthy if e is not avoid] or healthy
            if not healthy:
                return None
            best = min(healthy, key=lambda e: e.outstanding)  # first of the ties after the cursor: round robin
            self._cursor = (self.endpoints.index(best) + 1) % n
            best.outstanding += 1
            return best

    def release(self, endpoint: Endpoint, *, ok: bool) -> None:
        """A request to ``endpoint`` ended; ``ok``: it answered (a refusal such as HTTP 400 is an answer too)."""
        with self._lock:
            endpoint.outstanding -= 1
            if ok:
                endpoint.answered += 1
                endpoint.failures = 0
                endpoint.probe_wait_s = 0.0  # healthy again: the next outage starts from the first backoff step

    def record_failure(self, endpoint: Endpoint, reason: str) -> int:
        """Count a failed request (5xx) without taking the endpoint out; returns its failures since last answer."""
        with self._lock:
            endpoint.failures += 1
            endpoint.last_error = reason
            return endpoint.failures

    def mark_down(self, endpoint: Endpoint, reason: str) -> bool:
        """Take ``endpoint`` out until a health check passes; False for the only endpoint (it stays in)."""
        with self._lock:
            endpoint.last_error = reason
            if len(self.endpoints) == 1:
                return False
            if endpoint.down:
                return True
            endpoint.down = True
            endpoint.probe_wait_s = min(self.max_probe_backoff_s,
                                        max(self.probe_backoff_s, 2 * endpoint.probe_wait_s))
            endpoint.next_probe_at = self.clock() + endpoint.probe_wait_s
            left = sum(not e.down for e in self.endpoints)
        log.warning("LLM endpoint %s taken out (%s); %d of %d left; health check in %.1fs", endpoint.url, reason,
                    left, len(self.endpoints), endpoint.probe_wait_s)
        return True

    def due_probes(self, *, now: bool = False) -> list[Endpoint]:
        """Down endpoints whose health check is due (``now``: every down one), each handed to one caller only."""
        with self._lock:
            t = self.clock()
            due = [e for e in self.endpoints if e.down and not e.probing and (now or e.next_probe_at <= t)]
            for e in due:
                e.probing = True
            return due

    def probe_done(self, endpoint: Endpoint, *, healthy: bool, reason: str = "", retry_later: bool = False) -> None:
        """Record a health check: back in when ``healthy``; else the next one waits twice as long.

        ``retry_later``: the check did not finish (its event loop ended); try again at once, without backoff.
        """
        with self._lock:
            endpoint.probing = False
            if not endpoint.down:
                return
            if healthy:
                endpoint.down = False
                endpoint.failures = 0
            elif retry_later:
                return
            else:
                endpoint.last_error = reason or endpoint.last_error
                endpoint.probe_wait_s = min(self.max_probe_backoff_s, max(self.probe_backoff_s,
                                                                          2 * endpoint.probe_wait_s))
                endpoint.next_probe_at = self.clock() + endpoint.probe_wait_s
        if healthy:
            log.warning("LLM endpoint %s is back (health check passed)", endpoint.url)

    def healthy_count(self) -> int:
        with self._lock:
            return sum(not e.down for e in self.endpoints)

    def seconds_to_next_probe(self) -> float | None:
        with self._lock:
            waits = [e.next_probe_at - self.clock() for e in self.endpoints if e.down and not e.probing]
        return max(0.0, min(waits)) if waits else None

    def describe(self) -> str:
        """``url, url (last error); url (other error)``: every endpoint, grouped by last error, for one line."""
        groups: dict[str, list[str]] = {}
        with self._lock:
            for e in self.endpoints:
                groups.setdefault(e.last_error or "unreachable", []).append(e.url)
        return "; ".join(f"{', '.join(urls)} ({error})" for error, urls in groups.items())

    def answered(self) -> dict[str, int]:
        """Requests answered per endpoint, for logs and benchmarks."""
        with self._lock:
            return {e.url: e.answered for e in self.endpoints}
