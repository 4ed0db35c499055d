"""Any OpenAI-compatible chat-completions endpoint: a ``vllm serve`` or llama.cpp server, or a hosted API; or several.

All requests of a batch are sent concurrently (bounded by ``concurrency``) so that the server's continuous batching
and prefix caching do the work. The API key is read from an environment variable at request time and is never
stored, logged or part of a cache key.

Several endpoints (``base_url="http://gpu1:8000/v1,http://gpu2:8000/v1"``, all serving the same model) form an
:class:`~eat_core.llm.endpoints.EndpointPool`: each request goes to the healthy endpoint with the fewest requests in
flight. Per request, on endpoint E:

* connection refused or reset, or a timeout: E is taken out at once and the request goes to another endpoint
  (a failover, not counted as a retry);
* 429 and 5xx: retried with backoff (``Retry-After`` honoured) as with one endpoint, preferring another endpoint;
  E is taken out once it has failed more than ``max_retries`` requests in a row (the retry policy of one request);
* any other status: the request is refused (``BackendError``, not retried).

An endpoint that is out is put back when ``GET <base>/models`` answers 200: probed in the background with doubling
backoff while others serve, and at once when none is left. When every endpoint stays out through a request's
retries, it fails with ``ServiceUnavailable`` (retryable: the shard is marked failed and a re-run recomputes it)
naming each endpoint and its last error.

The cache identity names the served model, never the URLs: whichever endpoint answers, a greedy call has the same
key, and adding or removing a server keeps every cached call (``docs/capacity.md``). Servers behind one list must
serve the same weights; serve different weights under different names (``vllm serve --served-model-name``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime

from eat_core.errors import BackendError, ConfigError, ServiceUnavailable
from eat_core.llm.base import Chat, Completion, Decoding, LLMBackend
from eat_core.llm.endpoints import Endpoint, EndpointPool, parse_base_urls
from eat_core.llm.served import parse_served_adapter, served_adapter_fingerprint

log = logging.getLogger(__name__)
RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def retry_after_seconds(value: str | None) -> float | None:
    """Parse ``Retry-After`` (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class OpenAIBackend(LLMBackend):
    name = "openai"

    def __init__(self, model: str, base_url: str, *, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 16,
                 timeout_s: float = 120.0, max_retries: int = 5, backoff_s: float = 0.5,
                 max_backoff_s: float = 30.0, adapter: str | None = None, transport=None,
                 probe_backoff_s: float = 0.5, max_probe_backoff_s: float = 30.0,
                 probe_timeout_s: float = 5.0) -> None:
        super().__init__()
        urls = parse_base_urls(base_url)
        if not urls:
            raise ConfigError("the openai backend needs llm.base_url, e.g. http://127.0.0.1:8000/v1 "
                              "(several: comma-separated)")
        # vLLM serves a LoRA adapter under its own model name: ``adapter`` is NAME or NAME=PATH (its files)
        self.adapter = adapter
        self.model = parse_served_adapter(adapter)[0] if adapter else model
        self.base_model = model
        self.base_urls = urls
        self.base_url = ",".join(urls)
        self.pool = EndpointPool(urls, probe_backoff_s=probe_backoff_s, max_probe_backoff_s=max_probe_backoff_s)
        self.probe_timeout_s = probe_timeout_s
        self._ssl_context = None  # built once: loading the CA bundle costs ~50 ms, per batch that adds up
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.transport = transport
        self.retries = 0
        self._adapter_fingerprint: str | None = None

    @classmethod
    def from_config(cls, config) -> OpenAIBackend:
        return cls(config.model, config.base_url or "", api_key_env=config.api_key_env,
                   concurrency=config.concurrency, timeout_s=config.timeout_s, max_retries=config.max_retries,
                   adapter=config.adapter)

    def identity(self) -> dict:
        """The served model, not where it is served: every endpoint of the list answers a greedy call the same.

        A served adapter is keyed by its contents (``served.served_adapter_fingerprint``), so one retrained under
        the same name is asked again; without an adapter the identity is what it always was."""
        identity = {"backend": self.name, "model": self.base_model, "served_as": self.model}
        if self.adapter:
            if self._adapter_fingerprint is None:
                self._adapter_fingerprint = served_adapter_fingerprint(self.adapter, self.base_urls)
            identity["adapter"] = self._adapter_fingerprint
        return identity

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _generate(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]:
        out = asyncio.run(self._generate_all(chats, decoding))
        self.stats.extra["answered_by"] = self.pool.answered()
        return out

    async def _generate_all(self, chats: Sequence[Chat], decoding: Decoding) -> list[Completion]:
        import httpx

        semaphore = asyncio.Semaphore(self.concurrency)
        probes: set[asyncio.Task] = set()  # background health checks, ended with this batch's event loop
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport,
                                     verify=self._ssl_context) as client:

            async def one(chat: Chat) -> Completion:
                async with semaphore:
                    return await self._request(client, chat, decoding, probes)

            try:
                return list(await asyncio.gather(*(one(chat) for chat in chats)))
            finally:  # let health checks under way finish (bounded by their timeout), so they count
                if probes:
                    await asyncio.wait(set(probes), timeout=self.probe_timeout_s)
                for task in set(probes):
                    task.cancel()
                await asyncio.gather(*probes, return_exceptions=True)

    def _backoff(self, attempt: int) -> float:
        return min(self.max_backoff_s, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)

    def _give_up(self, attempts: int, last_error: str) -> ServiceUnavailable:
        if len(self.pool) == 1:
            return ServiceUnavailable(f"{self.base_urls[0]}/chat/completions: giving up after {attempts} attempts "
                                      f"({last_error})")
        if self.pool.healthy_count() == 0:
            return ServiceUnavailable(f"all {len(self.pool)} LLM endpoints are down: {self.pool.describe()}; "
                                      f"gave up after {attempts} attempts; re-run to resume once one answers")
        return ServiceUnavailable(f"{self.base_url}: giving up after {attempts} attempts ({last_error})")

    async def _request(self, client, chat: Chat, decoding: Decoding, probes: set | None = None) -> Completion:
        import httpx

        body = {"model": self.model, "messages": chat, "max_tokens": decoding.max_new_tokens,
                "temperature": decoding.temperature}
        if decoding.seed is not None:
            body["seed"] = decoding.seed
        probes = set() if probes is None else probes
        attempts = 0  # failed attempts counted against max_retries
        failovers = 0  # moves off an endpoint that was taken out: free, but bounded
        last_error = ""
        avoid: Endpoint | None = None
        while True:
            for endpoint in self.pool.due_probes():
                task = asyncio.create_task(self._probe(client, endpoint))
                probes.add(task)
                task.add_done_callback(probes.discard)
            endpoint = self.pool.acquire(avoid)
            if endpoint is None:  # every endpoint is out: check them now rather than on their schedule
                if await self._probe_now(client):
                    continue
                if attempts >= self.max_retries:
                    raise self._give_up(attempts + 1, last_error)
                wait = self._backoff(attempts)
                attempts += 1
                self.retries += 1
                log.warning("all %d LLM endpoints are down (%s); retry %d/%d in %.1fs", len(self.pool),
                            self.pool.describe(), attempts, self.max_retries, wait)
                await asyncio.sleep(wait)
                continue
            url = f"{endpoint.url}/chat/completions"
            wait = self._backoff(attempts)
            t0 = time.perf_counter()
            try:
                response = await client.post(url, json=body, headers=self._headers())
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                self.pool.release(endpoint, ok=False)
                last_error = f"{exc.__class__.__name__}: {exc}"
                if self.pool.mark_down(endpoint, exc.__class__.__name__) and failovers < 2 * len(self.pool):
                    failovers += 1
                    avoid = endpoint
                    continue
            except BaseException:  # cancelled: the request is no longer in flight
                self.pool.release(endpoint, ok=False)
                raise
            else:
                status = response.status_code
                if status == 200:
                    self.pool.release(endpoint, ok=True)
                    return self._parse(response, time.perf_counter() - t0)
                last_error = f"HTTP {status}: {response.text[:200]}"
                if status not in RETRY_STATUS:
                    self.pool.release(endpoint, ok=True)  # it answered; the request itself is at fault
                    raise BackendError(f"{url} refused the request ({last_error})")
                self.pool.release(endpoint, ok=False)
                if status >= 500 and self.pool.record_failure(endpoint, f"HTTP {status}") > self.max_retries \
                        and self.pool.mark_down(endpoint, f"HTTP {status}") and failovers < 2 * len(self.pool):
                    failovers += 1
                    avoid = endpoint
                    continue
                wait = retry_after_seconds(response.headers.get("retry-after")) or wait
            avoid = endpoint
            if attempts >= self.max_retries:
                raise self._give_up(attempts + 1, last_error)
            attempts += 1
            self.retries += 1
            log.warning("LLM request failed (%s); retry %d/%d in %.1fs", last_error, attempts, self.max_retries, wait)
            await asyncio.sleep(min(wait, self.max_backoff_s))

    async def _probe(self, client, endpoint: Endpoint) -> bool:
        """Health check: ``GET <base>/models`` answering 200 puts the endpoint back."""
        healthy, reason, finished = False, "", False
        try:
            response = await client.get(f"{endpoint.url}/models", headers=self._headers(),
                                        timeout=min(self.timeout_s, self.probe_timeout_s))
            healthy, reason, finished = response.status_code == 200, f"health check HTTP {response.status_code}", True
        except Exception as exc:  # noqa: BLE001 - any failure to answer is an unhealthy endpoint
            reason, finished = f"health check {exc.__class__.__name__}", True
        finally:
            self.pool.probe_done(endpoint, healthy=healthy, reason=reason, retry_later=not finished)
        return healthy

    async def _probe_now(self, client) -> bool:
        """Check every down endpoint not being checked already; True if at least one is healthy afterwards."""
        due = self.pool.due_probes(now=True)
        if due:
            await asyncio.gather(*(self._probe(client, endpoint) for endpoint in due))
        return self.pool.healthy_count() > 0

    def _parse(self, response, latency: float) -> Completion:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"malformed chat-completions response ({exc.__class__.__name__}): "
                               f"{response.text[:200]!r}") from None
        usage = data.get("usage") or {}
        return Completion(text, usage.get("prompt_tokens"), usage.get("completion_tokens"), latency,
                          truncated=choice.get("finish_reason") == "length")
